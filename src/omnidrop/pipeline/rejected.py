"""How a content check refuses a file: one exception shape for archives, media and sidecars."""

from __future__ import annotations


class Rejected(Exception):
    """The file is not what its check accepts; ``code`` is stable, ``reason`` is for humans."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code

    def __reduce__(self):  # pickled back from a child process (pipeline/child.py)
        return type(self), (self.reason, self.code)

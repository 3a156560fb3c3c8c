"""How a job handler says a failure is final (bad input), as opposed to worth another attempt."""

from __future__ import annotations


class JobFailed(Exception):
    """A permanent failure: retrying would give the same answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

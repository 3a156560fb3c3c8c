"""How an upload reports progress: absolute byte counts per file, so a resync can move a bar back."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, key: str, name: str, total: int, done: int = 0) -> None: ...

    def update(self, key: str, done: int) -> None: ...

    def finish(self, key: str) -> None: ...

    def note(self, message: str) -> None: ...


class NoProgress:
    def start(self, key: str, name: str, total: int, done: int = 0) -> None:
        pass

    def update(self, key: str, done: int) -> None:
        pass

    def finish(self, key: str) -> None:
        pass

    def note(self, message: str) -> None:
        pass

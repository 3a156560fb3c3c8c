"""The resume loop the byte-offset upload APIs share (chunked File Upload API, tus, IETF draft).

One file, one request in flight at a time, each sent from the offset the server holds. After a failed
request the server's offset is the only truth (it keeps what arrived), so the loop asks for it before
sending again. After "another writer holds this upload" the next request is a small probe: a server
that refuses it again (a crashed writer's lease lasts until it lapses) has then been sent little.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from omnidrop.client.errors import ApiError
from omnidrop.client.files import LocalFile
from omnidrop.client.progress import Progress
from omnidrop.client.transport import RETRYABLE_NETWORK, Failures, is_retryable_status

DEFAULT_CHUNK = 8 * 1024 * 1024
PROBE = 256 * 1024


class ResumeLoop(ABC):
    """Sends `f` from `offset` until `finished()`; a protocol says how to send, resync and read a conflict."""

    def __init__(self, f: LocalFile, offset: int, *, chunk_size: int, failures: Failures,
                 progress: Progress) -> None:
        self.f = f
        self.offset = offset
        self.chunk_size = chunk_size
        self.failures = failures
        self.progress = progress
        self.busy = False  # another writer holds the upload: probe with a small request next

    def run(self) -> None:
        while not self.finished():
            self.f.check_unchanged()
            length = min(PROBE if self.busy else self.chunk_size, self.f.size - self.offset)
            try:
                self.offset = self.send(self.offset, length)
                self.failures.progress()
                self.busy = False
            except ApiError as exc:
                if self.conflict(exc):
                    continue
                if not is_retryable_status(exc.status):
                    raise
                self.busy = self.busy_after(exc)
                self.failures.failed(exc)
                self.offset = self.resync(exc)
            except RETRYABLE_NETWORK as exc:
                self.failures.failed(exc)
                self.offset = self.resync(None)
            self.progress.update(self.f.key, self.offset)

    @abstractmethod
    def finished(self) -> bool:
        """Whether the server holds the whole file."""

    @abstractmethod
    def send(self, offset: int, length: int) -> int:
        """One request of `length` bytes from `offset`; returns the server's new offset."""

    @abstractmethod
    def resync(self, exc: ApiError | None) -> int:
        """The server's offset after a failed request (`exc`, or None for a network error)."""

    def conflict(self, exc: ApiError) -> bool:
        """Handle a refusal the protocol explains (it sets `offset`, perhaps `busy`); False: not one of those."""
        return False

    def busy_after(self, exc: ApiError) -> bool:
        """Whether the request after this retryable refusal is a probe; by default as before it."""
        return self.busy

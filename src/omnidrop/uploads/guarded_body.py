"""A write's body as the core lets it reach the store."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Protocol

from omnidrop.uploads.errors import BodyInterrupted, UploadError
from omnidrop.uploads.leases import Lease


class ChunkCheck(Protocol):
    """Verifies one request's bytes before they are committed (e.g. a tus Upload-Checksum)."""

    def update(self, chunk: bytes) -> None: ...

    def verify(self) -> None:
        """Raise an UploadError if the bytes seen do not match."""


class GuardedBody:
    """At most `limit` bytes (more raise `too_much(n)`), none written under a lease that may have been
    taken over, counted, and checked by `check`. A client that drops ends the body early instead of
    failing the write: `interrupted` tells, and what arrived before still counts.

    A store may iterate it, or let it write itself into the store's file (`write_into`, storage/base.py)
    when the body underneath can (a server splicing it from the socket) and no check needs to see the bytes.
    """

    def __init__(self, body: AsyncIterable[bytes], limit: int, too_much: Callable[[int], UploadError],
                 lease: Lease, check: ChunkCheck | None) -> None:
        self.body, self.limit, self.too_much, self.lease, self.check = body, limit, too_much, lease, check
        self.count = 0
        self.interrupted = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._pieces()

    async def _pieces(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.body:
                if self.count + len(chunk) > self.limit:
                    raise self.too_much(self.count + len(chunk))
                if self.lease.due:
                    await self.lease.keep()
                self.count += len(chunk)
                if self.check is not None:
                    self.check.update(chunk)
                yield chunk
        except BodyInterrupted:
            self.interrupted = True

    async def write_into(self, fd: int, offset: int, on_written: Callable[[int], Awaitable[object]]) -> int | None:
        inner = getattr(self.body, "write_into", None)
        if inner is None or self.check is not None:
            return None

        async def landed(n: int) -> None:
            self.count += n
            await on_written(n)
            if self.lease.due:  # renewed before the next bytes go in
                await self.lease.keep()

        try:
            # A body longer than the limit is refused before anything is taken, and then iterated
            # so that it fails exactly as it would have.
            return await inner(fd, offset, landed, self.limit - self.count)
        except BodyInterrupted:
            self.interrupted = True
            return self.count

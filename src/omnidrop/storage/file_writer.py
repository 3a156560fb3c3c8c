"""A streamed body into an open file: written as it arrives, handed to the disk as it goes, made
durable at the end."""

from __future__ import annotations

import asyncio
import ctypes
import errno
import os
import sys
from collections.abc import AsyncIterable, Callable

# Pieces smaller than this are gathered into one write. The pieces a server hands over are written
# straight from their own buffers (os.pwritev): a buffered file would copy every byte once more, which
# measured a fifth of the CPU of 32 uploads at once (memmove, perf).
WRITE_BATCH = 256 * 1024
_MAX_PIECES = 512  # below the kernel's IOV_MAX (1024) for one pwritev
# While a body streams in, its bytes are handed to the disk every this many bytes. The fsync that
# acknowledges the body then waits only for the tail (bench/storage/flush_ahead.py: a 512 MiB body's
# final fdatasync 220 ms -> 14 ms), and dirty pages never pile up until the kernel's writeback
# throttle stalls the writes, which are made on the event loop.
FLUSH_AHEAD = 2 * 1024 * 1024
_SYNC_FILE_RANGE_WRITE = 2


def _sync_file_range():
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    return fn


_start_range_writeback = _sync_file_range()


def _start_writeback(fd: int, start: int, end: int) -> None:
    """Queue [start, end) for writing to disk without waiting for it (Linux's sync_file_range, data
    only: the final fdatasync still makes it durable). Where there is none, the final fsync does all."""
    if _start_range_writeback is not None and _start_range_writeback(fd, start, end - start,
                                                                      _SYNC_FILE_RANGE_WRITE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _pwrite_all(fd: int, pieces: list[bytes], offset: int) -> None:
    """All of `pieces`, in order, at `offset` (a short write, rare on a regular file, is continued)."""
    views = [memoryview(p) for p in pieces if p]
    while views:
        n = os.pwritev(fd, views, offset) if len(views) > 1 else os.pwrite(fd, views[0], offset)
        if n == 0:
            raise OSError(errno.EIO, "the file takes no more bytes")
        offset += n
        while views and n >= len(views[0]):
            n -= len(views.pop(0))
        if n:
            views[0] = views[0][n:]


class _FlushAhead:
    """Counts what lands in the file and hands each FLUSH_AHEAD bytes of it to the disk."""

    def __init__(self, fd: int, offset: int, durable: bool) -> None:
        self.fd, self.offset, self.durable = fd, offset, durable
        self.written = self.flushed = 0

    def landed(self, n: int) -> None:
        self.written += n
        if self.durable and self.written - self.flushed >= FLUSH_AHEAD:
            _start_writeback(self.fd, self.offset + self.flushed, self.offset + self.written)
            self.flushed = self.written

    async def finish(self) -> int:
        if self.durable and self.written:
            await asyncio.to_thread(os.fdatasync, self.fd)
        return self.written


async def write_stream(fd: int, offset: int, chunks: AsyncIterable[bytes], *, durable: bool,
                       each: Callable[[bytes], object] | None = None) -> int:
    """Write `chunks` to the open file `fd` from `offset` and return how many bytes; with `durable`,
    they are on stable storage when this returns. `each` sees every chunk (e.g. a running checksum).

    A body that can write itself into the file (`write_into`, storage/base.py) is asked to first,
    unless `each` must see its bytes.
    """
    progress = _FlushAhead(fd, offset, durable)
    write_into = getattr(chunks, "write_into", None) if each is None else None
    if write_into is not None:
        async def landed(n: int) -> None:
            progress.landed(n)

        if await write_into(fd, offset, landed) is not None:
            return await progress.finish()
    pending: list[bytes] = []
    pending_bytes = 0

    def write_pending() -> None:
        nonlocal pending_bytes
        _pwrite_all(fd, pending, offset + progress.written)
        progress.landed(pending_bytes)
        pending.clear()
        pending_bytes = 0

    # Plain writes on the event loop: the page cache absorbs them. Handing each batch to a thread
    # measured slower (bench/uploads, 2 vCPUs: 1 GiB in one request 1076 -> 833 MiB/s), the GIL
    # hand-backs cost more than the copy they move off the loop. Only the fsync, which can stall
    # for long, goes to a thread.
    async for chunk in chunks:
        if each is not None:
            each(chunk)
        pending.append(chunk)
        pending_bytes += len(chunk)
        if pending_bytes >= WRITE_BATCH or len(pending) >= _MAX_PIECES:
            write_pending()
    if pending:
        write_pending()
    return await progress.finish()

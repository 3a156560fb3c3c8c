"""Bytes from a socket into a file without passing through Python: splice(2) through a pipe.

Reading a body into Python and writing it out copies every byte twice (socket to user memory, user
memory to page cache) and costs an event-loop round per piece. splice moves the socket's pages into
a pipe by reference and from there into the page cache: one copy, a few system calls per MiB. With
32 uploads at once on 2 vCPUs, omnidrop took 0.81-0.93 CPU s/GiB this way against 1.46-1.68 before
(bench/uploads, A/B in docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
from omnidrop.serving.body_into_file import OnWritten

available = hasattr(os, "splice")

# One pipe per body, as deep as an unprivileged process may make it (Linux's pipe-max-size default):
# each round then moves up to this much (256 KiB pipes measured 0.83-0.95 CPU s/GiB with 32 uploads at
# once, 64 KiB 1.1, 1 MiB 0.8). The pipe's pages are kernel memory, not the server's RSS.
PIPE_BYTES = 1024 * 1024
# A non-root user past its pipe budget (pipe-user-pages-soft, 64 MiB by default: 64 bodies at once)
# only gets pipes of a page or two, whose rounds would cost more than reading the body as usual.
MIN_PIPE_BYTES = 64 * 1024
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)


def _pipe() -> tuple[int, int, int] | None:
    """(read end, write end, capacity), or None when no pipe of at least MIN_PIPE_BYTES can be had."""
    try:
        r, w = os.pipe2(os.O_CLOEXEC)
    except OSError:  # out of descriptors
        return None
    try:
        fcntl.fcntl(w, _F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:  # over the budget: whatever the kernel gave may still do
        pass
    capacity = fcntl.fcntl(w, _F_GETPIPE_SZ)
    if capacity < MIN_PIPE_BYTES:
        os.close(r)
        os.close(w)
        return None
    return r, w, capacity


class BodyIdle(ConnectionError):
    """No byte of the body arrived for the idle timeout: the client is treated as gone."""


async def _readable(loop: asyncio.AbstractEventLoop, fd: int, timeout: float | None) -> None:
    ready = loop.create_future()
    loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
    timer = None
    if timeout is not None:
        timer = loop.call_later(timeout, lambda: ready.done() or ready.set_exception(
            BodyIdle(f"no body byte arrived for {timeout} s")))
    try:
        await ready
    finally:
        loop.remove_reader(fd)
        if timer is not None:
            timer.cancel()


class _PipeToFile:
    """Empties the pipe into the file; where the file system takes no splice (EINVAL), by read + pwrite."""

    def __init__(self, pipe: int, fd: int) -> None:
        self.pipe, self.fd, self.splice = pipe, fd, True

    def drain(self, n: int, offset: int) -> None:
        while n:
            if self.splice:
                try:
                    done = os.splice(self.pipe, self.fd, n, offset_dst=offset, flags=os.SPLICE_F_MOVE)
                except OSError as e:
                    if e.errno != errno.EINVAL:
                        raise
                    self.splice = False
                    continue
            else:
                done = write_pieces(self.fd, [os.read(self.pipe, n)], offset)
            n -= done
            offset += done


def write_pieces(fd: int, pieces: list[bytes], offset: int) -> int:
    """Bytes already read off the socket, written at `offset`; returns how many."""
    start = offset
    for piece in pieces:
        view = memoryview(piece)
        while view:
            n = os.pwrite(fd, view, offset)
            offset += n
            view = view[n:]
    return offset - start


class SocketToFile:
    """Moves bytes from the non-blocking socket `sock` into the file `fd`. `taken` counts what has left
    the socket, so that after a failure the caller knows how much of the body is still unread.

    The socket itself is left as it was: a duplicate descriptor is watched, so that an event loop whose
    transport owns `sock` (with its reading paused) allows it.
    """

    def __init__(self, sock: int, fd: int, pipe: tuple[int, int, int]) -> None:
        self.sock, self.fd = sock, fd
        self.r, self.w, self.capacity = pipe
        self.taken = 0

    @classmethod
    def open(cls, sock: int, fd: int) -> SocketToFile | None:
        """None when no pipe deep enough can be had now: read the body as usual then."""
        pipe = _pipe()
        return cls(sock, fd, pipe) if pipe else None

    def close(self) -> None:
        os.close(self.r)
        os.close(self.w)

    async def move(self, length: int, offset: int, on_written: OnWritten, idle_timeout: float | None = None) -> int:
        """Exactly `length` bytes into the file at `offset` (once per mover). `on_written(n)` is awaited
        after each `n` bytes land in the file; it may raise to stop. A peer that closes early raises
        EOFError (or a ConnectionError) once what arrived is written and reported; one that sends
        nothing for `idle_timeout` seconds raises BodyIdle (a ConnectionError) the same way."""
        loop = asyncio.get_running_loop()
        src = os.dup(self.sock)
        into_file = _PipeToFile(self.r, self.fd)
        try:
            while self.taken < length:
                try:
                    n = os.splice(src, self.w, min(length - self.taken, self.capacity),
                                  flags=os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK)
                except BlockingIOError:
                    await _readable(loop, src, idle_timeout)
                    continue
                if n == 0:
                    raise EOFError(f"the peer closed after {self.taken} of {length} bytes")
                # Counted as taken as soon as they left the socket: should the file refuse them (a full
                # disk), they are gone from the connection all the same, and the rest of the body is
                # what the server still has to drop.
                self.taken += n
                into_file.drain(n, offset + self.taken - n)
                await on_written(n)
            return self.taken
        finally:
            os.close(src)

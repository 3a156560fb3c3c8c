"""Bytes spliced from a real TCP socket into a file: exactly the length asked for, reported as they
land, a peer that leaves early, and file systems that take no splice."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from collections.abc import Iterator

import pytest

from omnidrop.serving import socket_to_file as mover
from omnidrop.serving.socket_to_file import SocketToFile, write_pieces


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(client, server) ends of one loopback TCP connection; the server end non-blocking, as a server's is."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    server.setblocking(False)
    yield client, server
    client.close()
    server.close()


async def socket_to_file(sock: int, length: int, fd: int, offset: int, on_written) -> int:
    mover = SocketToFile.open(sock, fd)
    try:
        return await mover.move(length, offset, on_written)
    finally:
        mover.close()


@pytest.fixture
def fd(tmp_path) -> Iterator[int]:
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT, 0o600)
    yield fd
    os.close(fd)


def content(fd: int) -> bytes:
    return os.pread(fd, os.fstat(fd).st_size, 0)


class Reports:
    def __init__(self) -> None:
        self.sizes: list[int] = []

    async def __call__(self, n: int) -> None:
        self.sizes.append(n)


async def send_slowly(sock: socket.socket, data: bytes, piece: int = 200_000) -> None:
    for i in range(0, len(data), piece):
        await asyncio.to_thread(sock.sendall, data[i:i + piece])
        await asyncio.sleep(0.001)


async def test_exactly_the_length_lands_at_the_offset_and_what_follows_stays_on_the_socket(pair, fd):
    client, server = pair
    body, after = os.urandom(3 * mover.PIPE_BYTES + 12345), b"GET /next HTTP/1.1\r\n\r\n"
    os.pwrite(fd, b"kept", 0)
    reports = Reports()
    sending = asyncio.create_task(send_slowly(client, body + after))
    assert await socket_to_file(server.fileno(), len(body), fd, 4, reports) == len(body)
    await sending
    assert content(fd) == b"kept" + body
    # Reported in rounds as they landed, never more than one pipe's worth at a time.
    assert sum(reports.sizes) == len(body) and len(reports.sizes) >= 4
    assert max(reports.sizes) <= mover.PIPE_BYTES
    # The socket is untouched past the body: the next request is still there to read.
    server.setblocking(True)
    assert server.recv(100) == after


async def test_a_peer_that_leaves_early_raises_after_what_arrived_is_written_and_reported(pair, fd):
    client, server = pair
    client.sendall(b"x" * 5000)
    client.close()
    reports = Reports()
    with pytest.raises(EOFError):
        await socket_to_file(server.fileno(), 10_000, fd, 0, reports)
    assert content(fd) == b"x" * 5000 and sum(reports.sizes) == 5000


async def test_an_on_written_that_raises_stops_the_move(pair, fd):
    client, server = pair
    client.sendall(os.urandom(3 * mover.PIPE_BYTES))

    async def refuse(n: int) -> None:
        raise RuntimeError("lease lost")

    move = SocketToFile.open(server.fileno(), fd)
    with pytest.raises(RuntimeError, match="lease lost"):
        await move.move(3 * mover.PIPE_BYTES, 0, refuse)
    move.close()
    # One round went in; the caller learns how much of the body is still on the socket.
    assert 0 < move.taken == os.fstat(fd).st_size <= mover.PIPE_BYTES


async def test_a_file_system_without_splice_gets_plain_writes_continued_when_short(pair, fd, monkeypatch):
    real = os.splice
    into_file: list[int] = []

    def no_splice_into_files(src: int, dst: int, count: int, **kw) -> int:
        if dst == fd:
            into_file.append(count)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(src, dst, count, **kw)

    monkeypatch.setattr(os, "splice", no_splice_into_files)
    real_pwrite = os.pwrite
    monkeypatch.setattr(os, "pwrite", lambda fd, data, offset: real_pwrite(fd, memoryview(data)[:100_000], offset))
    client, server = pair
    body = os.urandom(2 * mover.PIPE_BYTES + 7)
    sending = asyncio.create_task(send_slowly(client, body))
    assert await socket_to_file(server.fileno(), len(body), fd, 0, Reports()) == len(body)
    await sending
    assert content(fd) == body
    assert len(into_file) == 1  # tried once, then never again for this body


async def test_the_socket_descriptor_is_left_open_and_nothing_leaks(pair, fd):
    client, server = pair
    before = len(os.listdir("/proc/self/fd"))
    client.sendall(b"abc")
    assert await socket_to_file(server.fileno(), 3, fd, 0, Reports()) == 3
    assert len(os.listdir("/proc/self/fd")) == before
    client.sendall(b"d")
    server.setblocking(True)
    assert server.recv(1) == b"d"


def test_no_mover_when_no_pipe_deep_enough_can_be_had(pair, fd, monkeypatch):
    before = len(os.listdir("/proc/self/fd"))
    deep = SocketToFile.open(pair[1].fileno(), fd)
    assert deep.capacity == mover.PIPE_BYTES
    deep.close()
    monkeypatch.setattr(mover, "MIN_PIPE_BYTES", 2 * mover.PIPE_BYTES)  # as past the user's pipe budget
    assert SocketToFile.open(pair[1].fileno(), fd) is None
    assert len(os.listdir("/proc/self/fd")) == before  # the shallow pipe was closed again


def test_pieces_already_read_are_written_in_order(fd):
    assert write_pieces(fd, [b"ab", memoryview(b"cd"), b"", b"e"], 3) == 5
    assert content(fd) == b"\0\0\0abcde"


async def test_bytes_the_file_refused_count_as_taken_off_the_socket(pair, fd, monkeypatch):
    """A full disk mid-body: what left the socket is counted as taken (the server drops only the rest,
    not the start of the next request), and only what landed was reported."""
    client, server = pair
    body = os.urandom(3 * 100_000)
    rounds = []
    real_drain = mover._PipeToFile.drain

    def drain(self, n: int, offset: int) -> None:
        rounds.append(n)
        if len(rounds) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_drain(self, n, offset)

    monkeypatch.setattr(mover._PipeToFile, "drain", drain)
    reports = Reports()
    sending = asyncio.create_task(send_slowly(client, body, piece=100_000))
    moving = SocketToFile.open(server.fileno(), fd)
    try:
        with pytest.raises(OSError) as full:
            await moving.move(len(body), 0, reports)
        assert full.value.errno == errno.ENOSPC
        assert moving.taken == rounds[0] + rounds[1]  # both rounds left the socket
        assert reports.sizes == [rounds[0]] and content(fd) == body[:rounds[0]]
    finally:
        moving.close()
    await sending


async def test_a_peer_that_goes_quiet_raises_body_idle_after_what_arrived_is_reported(pair, fd):
    client, server = pair
    client.sendall(b"abc")
    reports = Reports()
    with pytest.raises(mover.BodyIdle):
        mover_ = SocketToFile.open(server.fileno(), fd)
        try:
            await mover_.move(1000, 0, reports, idle_timeout=0.2)
        finally:
            mover_.close()
    assert reports.sizes == [3] and content(fd) == b"abc"

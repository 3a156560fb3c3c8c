import asyncio
import os

import pytest

from omnidrop.storage import file_writer
from omnidrop.storage.file_writer import write_stream
from tests.support.streams import stream


@pytest.fixture
def fd(tmp_path):
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT, 0o600)
    yield fd
    os.close(fd)


def content(fd: int) -> bytes:
    return os.pread(fd, os.fstat(fd).st_size, 0)


def _count_fdatasync(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = os.fdatasync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", counting)
    return calls


async def test_a_long_body_is_flushed_ahead_and_synced_at_the_end(fd, monkeypatch):
    assert file_writer._start_range_writeback is not None  # Linux: the real sync_file_range is what runs here
    monkeypatch.setattr(file_writer, "FLUSH_AHEAD", 1024 * 1024)
    ranges: list[tuple[int, int]] = []
    real = file_writer._start_writeback

    def recording(fd: int, start: int, end: int) -> None:
        ranges.append((start, end))
        real(fd, start, end)

    monkeypatch.setattr(file_writer, "_start_writeback", recording)
    syncs = _count_fdatasync(monkeypatch)
    assert await write_stream(fd, 0, stream(b"head"), durable=True) == 4
    blocks = [bytes([i]) * (256 * 1024) for i in range(20)]  # 5 MiB in 256 KiB pieces, after 4 bytes
    assert await write_stream(fd, 4, stream(*blocks), durable=True) == 5 * 1024 * 1024
    assert content(fd) == b"head" + b"".join(blocks)
    # Handed to the disk in order while streaming, from the write's own offset, never past what was written.
    assert len(ranges) >= 2 and ranges[0][0] == 4
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:])) and ranges[-1][1] <= 4 + 5 * 1024 * 1024
    assert len(syncs) == 2  # and each write acknowledged by one fdatasync


async def test_nothing_is_synced_when_not_durable(fd, monkeypatch):
    monkeypatch.setattr(file_writer, "FLUSH_AHEAD", 100)
    monkeypatch.setattr(file_writer, "_start_writeback", lambda *a: pytest.fail("flushed ahead without fsync"))
    calls = _count_fdatasync(monkeypatch)
    assert await write_stream(fd, 0, stream(b"a" * 1000), durable=False) == 1000
    assert calls == []


async def test_an_empty_body_writes_and_syncs_nothing(fd, monkeypatch):
    calls = _count_fdatasync(monkeypatch)
    assert await write_stream(fd, 0, stream(), durable=True) == 0
    assert await write_stream(fd, 0, stream(b"", b""), durable=True) == 0
    assert calls == [] and content(fd) == b""


async def test_tiny_and_empty_pieces_are_gathered_in_order(fd):
    pieces = [bytes([i % 251]) * (i % 3) for i in range(3000)]  # many more pieces than one pwritev takes
    assert await write_stream(fd, 0, stream(*pieces), durable=True) == sum(map(len, pieces))
    assert content(fd) == b"".join(pieces)


async def test_a_short_write_is_continued(fd, monkeypatch):
    real = os.pwritev

    def at_most_1000(fd, buffers, offset):  # what a signal or a nearly full disk may do to a write
        return real(fd, [memoryview(b"".join(buffers))[:1000]], offset)

    monkeypatch.setattr(os, "pwritev", at_most_1000)
    monkeypatch.setattr(os, "pwrite", lambda fd, data, offset: at_most_1000(fd, [data], offset))
    pieces = [os.urandom(700) for _ in range(10)]
    assert await write_stream(fd, 5, stream(*pieces), durable=True) == 7000
    assert content(fd)[5:] == b"".join(pieces)


async def test_each_sees_every_piece_in_order(fd):
    seen: list[bytes] = []
    pieces = [os.urandom(100_000) for _ in range(30)]
    assert await write_stream(fd, 0, stream(*pieces), durable=True, each=seen.append) == 3_000_000
    assert seen == pieces


async def test_many_streams_at_once_each_land_whole(tmp_path):
    async def one(i: int) -> bytes:
        body = [os.urandom(64 * 1024 + i) for _ in range(40)]
        fd = os.open(tmp_path / str(i), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            assert await write_stream(fd, 0, stream(*body), durable=True) == sum(map(len, body))
            return content(fd) == b"".join(body)
        finally:
            os.close(fd)

    assert all(await asyncio.gather(*(one(i) for i in range(16))))


async def test_a_failing_write_ends_the_stream_with_its_error(fd, monkeypatch):
    def full(*a):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "pwritev", full)
    monkeypatch.setattr(os, "pwrite", full)
    with pytest.raises(OSError, match="No space"):
        await write_stream(fd, 0, stream(*[b"x" * 300_000] * 10), durable=True)


class SelfWriting:
    """A body that can write itself into the file (as a server splicing from its socket does), in
    `rounds`; `takes=False` declines, leaving it to be iterated."""

    def __init__(self, rounds: list[bytes], takes: bool = True) -> None:
        self.rounds, self.takes, self.iterated = rounds, takes, False

    async def write_into(self, fd: int, offset: int, on_written) -> int | None:
        if not self.takes:
            return None
        for data in self.rounds:
            os.pwrite(fd, data, offset)
            offset += len(data)
            await on_written(len(data))
        return sum(map(len, self.rounds))

    def __aiter__(self):
        self.iterated = True
        return stream(*self.rounds)


async def test_a_body_that_writes_itself_is_flushed_ahead_and_synced_once(fd, monkeypatch):
    monkeypatch.setattr(file_writer, "FLUSH_AHEAD", 1024 * 1024)
    ranges: list[tuple[int, int]] = []
    monkeypatch.setattr(file_writer, "_start_writeback", lambda fd, start, end: ranges.append((start, end)))
    syncs = _count_fdatasync(monkeypatch)
    rounds = [os.urandom(700_000) for _ in range(5)]
    body = SelfWriting(rounds)
    assert await write_stream(fd, 10, body, durable=True) == 3_500_000
    assert not body.iterated and content(fd)[10:] == b"".join(rounds)
    assert ranges == [(10, 10 + 1_400_000), (10 + 1_400_000, 10 + 2_800_000)]
    assert len(syncs) == 1


async def test_a_body_that_declines_or_whose_bytes_must_be_seen_is_iterated(fd):
    declining = SelfWriting([b"abc", b"def"], takes=False)
    assert await write_stream(fd, 0, declining, durable=True) == 6 and declining.iterated
    seen: list[bytes] = []
    checked = SelfWriting([b"ghi"])
    assert await write_stream(fd, 6, checked, durable=True, each=seen.append) == 3
    assert checked.iterated and seen == [b"ghi"] and content(fd) == b"abcdefghi"

import os

import pytest

from omnidrop.storage import local
from omnidrop.storage.base import InvalidKey
from omnidrop.storage.local import LocalBlobStore


async def stream(*parts: bytes):
    for p in parts:
        yield p


async def collect(it) -> bytes:
    return b"".join([chunk async for chunk in it])


@pytest.fixture
def store(tmp_path):
    return LocalBlobStore(tmp_path / "blobs")


async def test_write_at_offsets_overwrites_in_place(store):
    assert await store.write("u/s/f", 0, stream(b"hello ", b"world")) == 11
    assert await store.write("u/s/f", 6, stream(b"WORLD")) == 5
    assert await collect(store.read("u/s/f")) == b"hello WORLD"
    assert await collect(store.read("u/s/f", 2, 7)) == b"llo W"
    assert await store.size("u/s/f") == 11


async def test_finalize_drops_unacknowledged_tail_and_creates_empty_blobs(store):
    await store.write("a/x", 0, stream(b"0123456789"))
    await store.finalize("a/x", 4)
    assert await collect(store.read("a/x")) == b"0123"
    await store.finalize("a/empty", 0)
    assert await store.size("a/empty") == 0


async def test_a_failing_stream_propagates(store):
    async def broken():
        yield b"abc"
        raise RuntimeError("client gone")

    with pytest.raises(RuntimeError):
        await store.write("a/b", 0, broken())


async def test_list_delete_and_delete_prefix(store):
    for key in ("p/1", "p/q/2", "other/3"):
        await store.write(key, 0, stream(b"x" * 3))
    assert [(b.key, b.size) async for b in store.list("p")] == [("p/1", 3), ("p/q/2", 3)]
    await store.delete("p/1")
    await store.delete("p/1")  # missing is fine
    await store.delete_prefix("p")
    assert [b async for b in store.list("p")] == []
    assert await store.size("other/3") == 3
    assert await store.size("nope") is None


@pytest.mark.parametrize("key", ["../x", "a/../../x", "/abs", "a//b", "a/./b", "a\\b", ""])
async def test_keys_cannot_leave_the_store(store, key):
    with pytest.raises(InvalidKey):
        await store.size(key)


@pytest.mark.parametrize("key", ["projects/p1/files/floor1_pano 01.jpg", "projects/p1/files/Ка́мера (1).jpg"])
async def test_keys_may_hold_any_file_name(store, key):
    assert await store.write(key, 0, stream(b"ok")) == 2
    assert await collect(store.read(key)) == b"ok"


def _count_fdatasync(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = os.fdatasync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", counting)
    return calls


async def test_a_long_body_is_flushed_ahead_and_synced_at_the_end(store, monkeypatch):
    assert local._start_range_writeback is not None  # Linux: the real sync_file_range is what runs here
    monkeypatch.setattr(local, "FLUSH_AHEAD", 1024 * 1024)
    ranges: list[tuple[int, int]] = []
    real = local._start_writeback

    def recording(fd: int, start: int, end: int) -> None:
        ranges.append((start, end))
        real(fd, start, end)

    monkeypatch.setattr(local, "_start_writeback", recording)
    syncs = _count_fdatasync(monkeypatch)
    await store.write("big/f", 0, stream(b"head"))
    blocks = [bytes([i]) * (256 * 1024) for i in range(20)]  # 5 MiB in 256 KiB pieces, after 4 bytes
    assert await store.write("big/f", 4, stream(*blocks)) == 5 * 1024 * 1024
    assert await collect(store.read("big/f")) == b"head" + b"".join(blocks)
    # Handed to the disk in order while streaming, from the write's own offset, never past what was written.
    assert len(ranges) >= 2 and ranges[0][0] == 4
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:])) and ranges[-1][1] <= 4 + 5 * 1024 * 1024
    assert len(syncs) == 2  # and each write acknowledged by one fdatasync


async def test_nothing_is_synced_with_fsync_off(tmp_path, monkeypatch):
    monkeypatch.setattr(local, "FLUSH_AHEAD", 100)
    monkeypatch.setattr(local, "_start_writeback", lambda *a: pytest.fail("flushed ahead without fsync"))
    calls = _count_fdatasync(monkeypatch)
    plain = LocalBlobStore(tmp_path / "nofsync", fsync=False)
    assert await plain.write("k", 0, stream(b"a" * 1000)) == 1000
    assert calls == []


async def test_tiny_and_empty_pieces_are_gathered_in_order(store):
    pieces = [bytes([i % 251]) * (i % 3) for i in range(3000)]  # many more pieces than one pwritev takes
    assert await store.write("tiny", 0, stream(*pieces)) == sum(map(len, pieces))
    assert await collect(store.read("tiny")) == b"".join(pieces)


async def test_a_short_write_is_continued(store, monkeypatch):
    real = os.pwritev

    def at_most_1000(fd, buffers, offset):  # what a signal or a full pipe may do to a write
        return real(fd, [memoryview(b"".join(buffers))[:1000]], offset)

    monkeypatch.setattr(os, "pwritev", at_most_1000)
    monkeypatch.setattr(os, "pwrite", lambda fd, data, offset: at_most_1000(fd, [data], offset))
    pieces = [os.urandom(700) for _ in range(10)]
    assert await store.write("short", 5, stream(*pieces)) == 7000
    assert await collect(store.read("short", 5)) == b"".join(pieces)

import pytest

from omnidrop.storage.base import InvalidKey
from omnidrop.storage.local import LocalBlobStore
from tests.support.streams import collect, stream


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

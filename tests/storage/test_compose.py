"""`BlobStore.compose`: the generic streaming default, on the local store."""

import os

from omnidrop.storage.local import LocalBlobStore


async def _put(store, key: str, data: bytes) -> None:
    async def chunks():
        yield data

    await store.write(key, 0, chunks())
    await store.finalize(key, len(data))


async def _get(store, key: str) -> bytes:
    return b"".join([c async for c in store.read(key)])


async def test_compose_joins_blobs_in_order_and_leaves_them(tmp_path):
    store = LocalBlobStore(tmp_path)
    parts = {"a/1": os.urandom(3 * 1024 * 1024 + 5), "a/2": b"", "a/3": b"tail"}
    for key, data in parts.items():
        await _put(store, key, data)
    size = await store.compose(["a/3", "a/1", "a/2"], "b/joined")
    assert size == sum(map(len, parts.values()))
    assert await _get(store, "b/joined") == parts["a/3"] + parts["a/1"]
    assert await _get(store, "a/1") == parts["a/1"]


async def test_compose_over_a_longer_leftover_truncates_it(tmp_path):
    store = LocalBlobStore(tmp_path)
    await _put(store, "dest", b"x" * 100)  # e.g. from an interrupted earlier attempt
    await _put(store, "src", b"short")
    assert await store.compose(["src"], "dest") == 5
    assert await _get(store, "dest") == b"short"

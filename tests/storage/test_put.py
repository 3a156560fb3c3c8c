"""Derived outputs are put by key: a job that re-runs after a crash overwrites what the dead attempt left,
on local disk and on S3 alike (issue 15: re-runs failed with `StoreGap … write at 0` on S3)."""

import os

import pytest

from omnidrop.pipeline.blobs import put_bytes, put_file
from omnidrop.storage.local import LocalBlobStore
from omnidrop.storage.s3 import S3BlobStore
from tests.support.streams import collect, stream

MiB = 1024 * 1024


@pytest.fixture(params=["local", "s3"])
async def store(request, tmp_path):
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
        return
    s = S3BlobStore(request.getfixturevalue("moto").storage_url())
    yield s
    await s.close()


def open_multipart_uploads(moto, store) -> list:
    return moto.client().list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])


async def test_a_second_put_file_replaces_the_first(store, tmp_path):
    first, second = tmp_path / "first.jpg", tmp_path / "second.jpg"
    first.write_bytes(b"the first attempt's longer frame")
    second.write_bytes(b"the re-run's frame")
    assert await put_file(store, "vehicles/v/frames/0001.jpg", first) == first.stat().st_size
    assert await put_file(store, "vehicles/v/frames/0001.jpg", second) == second.stat().st_size
    assert await collect(store.read("vehicles/v/frames/0001.jpg")) == b"the re-run's frame"
    assert await store.size("vehicles/v/frames/0001.jpg") == second.stat().st_size


async def test_put_replaces_a_blob_a_killed_attempt_left_half_written(store, request):
    # A dead attempt that streamed part of an output through the append path and never finalized it.
    await store.write("projects/p/source/download", 0, stream(b"partial bytes of a dead attempt"))
    await put_bytes(store, "projects/p/source/download", b"whole")
    assert await collect(store.read("projects/p/source/download")) == b"whole"
    assert [b.key async for b in store.list("projects/p/source")] == ["projects/p/source/download"]
    if isinstance(store, S3BlobStore):
        assert open_multipart_uploads(request.getfixturevalue("moto"), store) == []


async def test_a_put_longer_than_a_part_is_one_object_on_s3(moto):
    store = S3BlobStore(moto.storage_url() + "&part_size=5242880")
    try:
        data = os.urandom(11 * MiB + 7)
        assert await store.put("out/big", stream(data[: 3 * MiB], data[3 * MiB :])) == len(data)
        assert await collect(store.read("out/big")) == data
        assert open_multipart_uploads(moto, store) == []
    finally:
        await store.close()


async def test_a_put_whose_stream_fails_keeps_the_old_object_and_leaves_no_upload_open(moto):
    store = S3BlobStore(moto.storage_url() + "&part_size=5242880")

    async def dies_after_a_part():
        yield os.urandom(6 * MiB)
        raise OSError("the frame extractor died")

    try:
        await store.put("out/frame", stream(b"old frame"))
        with pytest.raises(OSError):
            await store.put("out/frame", dies_after_a_part())
        assert await collect(store.read("out/frame")) == b"old frame"
        assert open_multipart_uploads(moto, store) == []
    finally:
        await store.close()

"""The presigned-parts ledger on both stores: S3's completion rules, re-PUT, abort, the final ETag."""

import asyncio
import hashlib
import os

import pytest
import requests

from omnidrop.auth.keys import KeyService
from omnidrop.storage.base import BlobMismatch
from omnidrop.storage.local_parts import LocalMultipart
from omnidrop.storage.multipart import MiB, multipart_etag
from omnidrop.storage.s3 import S3BlobStore
from omnidrop.uploads.errors import BodyInterrupted
from omnidrop.uploads.parts import (
    EntityTooSmall,
    IncompleteBody,
    InvalidPart,
    InvalidPartNumber,
    InvalidPartOrder,
    MalformedPartList,
    NoSuchUpload,
    PartsCore,
    SizeMismatch,
)


@pytest.fixture(params=["local", "s3"])
async def parts(request, db, tmp_path):
    if request.param == "local":
        yield PartsCore(db, LocalMultipart(tmp_path / "blobs", fsync=False))
        return
    store = S3BlobStore(request.getfixturevalue("moto").storage_url())
    yield PartsCore(db, store)
    await store.close()


@pytest.fixture
async def owner(db):
    return await KeyService(db).ensure_owner(f"owner-{os.urandom(4).hex()}")


async def put_part(parts: PartsCore, upload, number: int, data: bytes) -> str:
    """What a client does: PUT to the part URL (S3), or omnidrop receiving it (local disk)."""
    url = parts.store_part_url(upload, number, 600)
    if url is not None:
        return (await asyncio.to_thread(requests.put, url, data=data)).headers["ETag"]

    async def body():
        yield data

    return (await parts.receive_part(upload.id, number, body())).etag


async def read_all(parts: PartsCore, key: str) -> bytes:
    store = parts.store
    if isinstance(store, LocalMultipart):
        return (store.root / key).read_bytes()
    return b"".join([c async for c in store.read(key)])


async def test_complete_assembles_parts_with_s3s_etag(parts, owner):
    upload = await parts.create(owner, "t/obj.bin")
    p1, p2, p3 = os.urandom(5 * MiB), os.urandom(5 * MiB + 7), os.urandom(1234)
    etags = [await put_part(parts, upload, n, p) for n, p in ((1, p1), (2, p2), (3, p3))]
    assert etags[0] == f'"{hashlib.md5(p1).hexdigest()}"'
    listed = await parts.list_parts(upload)
    assert [(p.number, p.size, p.etag) for p in listed] == [(1, len(p1), etags[0]), (2, len(p2), etags[1]),
                                                           (3, len(p3), etags[2])]
    # ETags may come back quoted or not, as clients copy them.
    done = await parts.complete(upload, [(1, etags[0]), (2, etags[1].strip('"')), (3, etags[2])],
                                expected_size=len(p1) + len(p2) + len(p3))
    assert done.state == "completed" and done.size == len(p1) + len(p2) + len(p3)
    assert done.etag == multipart_etag(etags) and done.etag.endswith('-3"')
    assert await read_all(parts, "t/obj.bin") == p1 + p2 + p3
    assert (await parts.complete(done, [(1, etags[0])])).etag == done.etag  # completing again: same answer
    with pytest.raises(NoSuchUpload):
        await parts.open_upload(upload.id)


async def test_reput_overwrites_and_parts_need_not_be_contiguous(parts, owner):
    upload = await parts.create(owner, "t/re.bin")
    await put_part(parts, upload, 2, b"old" * 10)
    final = os.urandom(5 * MiB)
    e2 = await put_part(parts, upload, 2, final)
    e5 = await put_part(parts, upload, 5, b"tail")
    assert [p.etag for p in await parts.list_parts(upload)] == [e2, e5]
    await parts.complete(upload, [(2, e2), (5, e5)])
    assert await read_all(parts, "t/re.bin") == final + b"tail"


async def test_refusals(parts, owner):
    upload = await parts.create(owner, "t/bad.bin")
    small = await put_part(parts, upload, 1, b"x" * 1000)
    big = await put_part(parts, upload, 2, os.urandom(5 * MiB))
    last = await put_part(parts, upload, 3, b"end")
    with pytest.raises(MalformedPartList):
        await parts.complete(upload, [])
    with pytest.raises(InvalidPart, match="ETag"):
        await parts.complete(upload, [(2, '"' + "0" * 32 + '"'), (3, last)])
    with pytest.raises(InvalidPart, match="no such part"):
        await parts.complete(upload, [(2, big), (4, last)])
    with pytest.raises(InvalidPartOrder):
        await parts.complete(upload, [(2, big), (1, small), (3, last)])
    with pytest.raises(InvalidPartOrder):
        await parts.complete(upload, [(1, small), (1, small)])
    with pytest.raises(EntityTooSmall):
        await parts.complete(upload, [(1, small), (2, big), (3, last)])  # part 1 is not last and < 5 MiB
    with pytest.raises(SizeMismatch):
        await parts.complete(upload, [(2, big), (3, last)], expected_size=1)
    with pytest.raises(InvalidPartNumber):
        await parts.complete(upload, [(0, small)])
    # Nothing refused lost anything: the valid subset still completes.
    done = await parts.complete(upload, [(2, big), (3, last)])
    assert done.size == 5 * MiB + 3


async def test_abort_removes_everything(parts, owner):
    upload = await parts.create(owner, "t/gone.bin")
    await put_part(parts, upload, 1, b"abc")
    await parts.abort(upload)
    with pytest.raises(NoSuchUpload):
        await parts.open_upload(upload.id)
    with pytest.raises(NoSuchUpload):
        await parts.list_parts(await parts.get(upload.id))
    if isinstance(parts.store, LocalMultipart):
        assert not (parts.store.root / ".multipart" / upload.store_upload_id).exists()
    else:
        with pytest.raises(Exception, match="NoSuchUpload"):
            await (await parts.store._s3()).list_parts(Bucket=parts.store.bucket, Key="t/gone.bin",
                                                      UploadId=upload.store_upload_id)
    with pytest.raises(NoSuchUpload):
        await parts.get(upload.id, owner_id="someone-else")


async def test_an_object_that_does_not_match_its_parts_is_never_recorded_complete(parts, owner, monkeypatch):
    upload = await parts.create(owner, "t/short.bin")
    p1, p2 = os.urandom(5 * MiB), os.urandom(100)
    etags = [await put_part(parts, upload, n, p) for n, p in ((1, p1), (2, p2))]
    real = parts.store.complete_multipart

    async def loses_the_last_part(key, upload_id, chosen):  # a store that assembles the wrong object
        await real(key, upload_id, chosen[:-1])

    monkeypatch.setattr(parts.store, "complete_multipart", loses_the_last_part)
    with pytest.raises(BlobMismatch):
        await parts.complete(upload, [(1, etags[0]), (2, etags[1])])
    assert (await parts.get(upload.id)).state == "open"


async def test_a_dropped_part_body_is_an_incomplete_body_and_keeps_the_part_before(parts, owner):
    upload = await parts.create(owner, "t/dropped.bin")
    if parts.store_part_url(upload, 1, 600) is not None:
        return  # on S3 the client PUTs to the store itself; a drop there never reaches omnidrop
    earlier = await put_part(parts, upload, 1, b"first try")

    async def dropped():
        yield b"half of the"
        raise BodyInterrupted()

    with pytest.raises(IncompleteBody):
        await parts.receive_part(upload.id, 1, dropped())
    assert [p.etag for p in await parts.list_parts(upload)] == [earlier]  # the whole earlier part, nothing of the cut one
    folder = parts.store.root
    assert not [p for p in folder.rglob("*.tmp")]

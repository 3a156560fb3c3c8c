"""The S3 blob store against moto's S3 server: appends as multipart parts plus a tail, rewinds, reads."""

import hashlib
import os

import pytest
import requests

from omnidrop.storage.multipart import MultipartError, PartInfo, multipart_etag
from omnidrop.storage.s3 import MARKER, TAIL, S3BlobStore, StoreGap, part_target
from tests.support.streams import collect, stream

MiB = 1024 * 1024


@pytest.fixture
async def store(moto):
    s = S3BlobStore(moto.storage_url())
    yield s
    await s.close()


def objects(moto, store) -> list[str]:
    return sorted(o["Key"] for o in moto.client().list_objects_v2(Bucket=store.bucket).get("Contents", []))


async def test_small_writes_live_in_the_tail_until_finalized(store, moto):
    assert await store.write("u/s/f", 0, stream(b"hello ", b"world")) == 11
    assert await store.size("u/s/f") == 11
    assert objects(moto, store) == ["u/s/f" + MARKER, f"u/s/f{TAIL}1"]
    assert await store.write("u/s/f", 11, stream(b"!")) == 1
    await store.finalize("u/s/f", 12)
    assert await collect(store.read("u/s/f")) == b"hello world!"
    assert await collect(store.read("u/s/f", 2, 7)) == b"llo w"
    assert objects(moto, store) == ["u/s/f"]  # no sidecars, no open multipart upload left
    assert moto.client().list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []


async def test_appends_become_parts_of_at_least_5_mib_and_the_etag_is_s3s(store, moto):
    data = os.urandom(13 * MiB + 123)
    # Uneven chunks: 3 MiB stays in the tail, then crosses the 8 MiB part target, then a 5+ MiB rest.
    cuts = [0, 3 * MiB, 9 * MiB, len(data)]
    for a, b in zip(cuts, cuts[1:]):
        assert await store.write("big", a, stream(data[a:b])) == b - a
    assert await store.size("big") == len(data)
    await store.finalize("big", len(data))
    assert hashlib.sha256(await collect(store.read("big"))).digest() == hashlib.sha256(data).digest()
    head = moto.client().head_object(Bucket=store.bucket, Key="big", PartNumber=1)
    assert head["PartsCount"] == 2
    part1, part2 = data[: 9 * MiB], data[9 * MiB :]  # 9 MiB (3 MiB tail + 6 MiB), then 4 MiB + 123
    expected = multipart_etag([hashlib.md5(part1).hexdigest(), hashlib.md5(part2).hexdigest()])
    assert moto.client().head_object(Bucket=store.bucket, Key="big")["ETag"] == expected


async def test_rewinding_to_the_acknowledged_end_drops_unacknowledged_bytes(store):
    good = os.urandom(6 * MiB)
    await store.write("r", 0, stream(good[: 2 * MiB]))  # acknowledged: 2 MiB in the tail
    await store.write("r", 2 * MiB, stream(os.urandom(7 * MiB)))  # stored, never acknowledged (a part)
    assert await store.size("r") == 9 * MiB
    # The core writes again at its acknowledged end: the bad part and its tail are forgotten.
    assert await store.write("r", 2 * MiB, stream(good[2 * MiB :])) == 4 * MiB
    await store.finalize("r", len(good))
    assert await collect(store.read("r")) == good


async def test_rewind_to_a_part_boundary_and_refusals(store):
    a, b = os.urandom(6 * MiB), os.urandom(6 * MiB)
    await store.write("p", 0, stream(a))  # one 6 MiB part
    await store.write("p", len(a), stream(os.urandom(6 * MiB)))
    await store.write("p", len(a), stream(b))  # rewound to the end of part 1
    with pytest.raises(StoreGap):
        await store.write("p", 3 * MiB, stream(b"x"))  # inside an uploaded part: never acknowledged
    with pytest.raises(StoreGap):
        await store.write("p", 20 * MiB, stream(b"x"))  # past the end
    await store.finalize("p", 12 * MiB)
    assert await collect(store.read("p")) == a + b
    await store.finalize("p", 12 * MiB)  # again, as after a crash: nothing to do
    with pytest.raises(StoreGap):
        await store.write("p", 12 * MiB, stream(b"more"))


async def test_empty_and_list_and_delete(store):
    await store.finalize("d/empty", 0)
    assert await store.size("d/empty") == 0
    assert await collect(store.read("d/empty")) == b""
    await store.write("d/partial", 0, stream(b"abc"))
    await store.write("d/q/done", 0, stream(b"xyz"))
    await store.finalize("d/q/done", 3)
    # Only complete blobs are listed; sidecars stay hidden.
    assert [(b.key, b.size) async for b in store.list("d")] == [("d/empty", 0), ("d/q/done", 3)]
    await store.delete("d/empty")
    await store.delete("d/empty")
    await store.delete_prefix("d")
    assert [b async for b in store.list("d")] == []
    assert await store.size("d/partial") is None
    assert part_target(1, 8 * MiB) == 8 * MiB and part_target(1001, 8 * MiB) == 16 * MiB


async def test_presigned_parts_are_sigv4_and_complete_on_s3(store):
    upload_id = await store.create_multipart("mp/obj")
    urls = {n: store.presign_part("mp/obj", upload_id, n, 600) for n in (1, 2)}
    assert "X-Amz-Signature=" in urls[1] and "X-Amz-Algorithm=AWS4-HMAC-SHA256" in urls[1]
    p1, p2 = os.urandom(5 * MiB), os.urandom(1000)
    etags = [requests.put(urls[1], data=p1).headers["ETag"], requests.put(urls[2], data=p2).headers["ETag"]]
    assert etags[0] == f'"{hashlib.md5(p1).hexdigest()}"'
    parts = await store.list_parts("mp/obj", upload_id)
    assert parts == [PartInfo(1, len(p1), etags[0]), PartInfo(2, len(p2), etags[1])]
    await store.complete_multipart("mp/obj", upload_id, parts)
    assert await collect(store.read("mp/obj")) == p1 + p2
    with pytest.raises(MultipartError):
        await store.list_parts("mp/obj", upload_id)
    other = await store.create_multipart("mp/other")
    await store.abort_multipart("mp/other", other)
    await store.abort_multipart("mp/other", other)  # unknown is fine
    assert requests.get(store.presign_get("mp/obj")).content == p1 + p2


async def test_compose_copies_inside_s3_or_streams_small_pieces(store, moto):
    big, small = os.urandom(5 * MiB), os.urandom(10)
    for key, data in (("c/1", big), ("c/2", small), ("c/3", big)):
        await store.write(key, 0, stream(data))
        await store.finalize(key, len(data))
    assert await store.compose(["c/1", "c/3", "c/2"], "c/joined") == 10 * MiB + 10  # UploadPartCopy
    assert await collect(store.read("c/joined")) == big + big + small
    assert moto.client().head_object(Bucket=store.bucket, Key="c/joined")["ETag"].endswith('-3"')  # one part each
    assert await store.compose(["c/2", "c/1"], "c/streamed") == 5 * MiB + 10  # a small first piece: streamed
    assert await collect(store.read("c/streamed")) == small + big

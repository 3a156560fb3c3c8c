"""Blobs in S3-compatible object storage (aiobotocore; boto3 only for presigning, which is local HMAC).

URL: `s3://bucket[/prefix]?endpoint=http://host:port&region=us-east-1&part_size=8388608`; credentials
come from the usual AWS chain (environment, profile, instance role). `public_endpoint=https://…` is the
address clients use for presigned URLs when it differs from the one servers reach (a private network
name, a proxy): URLs are signed for the host the client will send.

Appends (`write` at an offset) follow tusd's s3store: while a file is incomplete it is an S3 multipart
upload. Bytes are spooled and sent as parts of at least 5 MiB; a shorter trailing piece waits in a
tail object until more bytes arrive or the file is finalized. A small marker object records what is
durable (upload id, how many parts count, their total, the tail's length); it is rewritten at the end
of every write, which is the moment the write's bytes become durable.

S3 parts cannot be edited, so this store does not overwrite in place: the core skips bytes it already
acknowledged and only writes at its acknowledged end. That end may lie
below the store's durable size (bytes stored but never acknowledged: a crash, a failed checksum); the
store then rewinds to it. Any acknowledged end is a part boundary or inside the tail that followed that
part, and tails are kept (one object per part number) until the file is finalized, so rewinding to an
acknowledged end always works.

Upload writes under a lease come with a fence (storage/fence.py) and take another way: the record of
what is durable is the database's (s3_ledger.py), part numbers are drawn under the lease, tails are
named after their writer's epoch, and completion sends the recorded ETags and checks the object it
made. The marker way above serves single writers (pipeline outputs), which no one takes over.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlparse

import boto3
from aiobotocore.session import AioSession
from botocore.config import Config
from botocore.exceptions import ClientError

from omnidrop.storage.base import BlobInfo, BlobMismatch, BlobStore, check_key
from omnidrop.storage.fence import WriteFence
from omnidrop.storage.multipart import (
    MAX_PARTS,
    MIN_PART_SIZE,
    MiB,
    MultipartError,
    MultipartStore,
    PartInfo,
    multipart_etag,
)
from omnidrop.storage.s3_ledger import S3Ledger

READ_BLOCK = 1024 * 1024
SPOOL_IN_MEMORY = 8 * MiB  # a part larger than this spools to a temporary file
DEFAULT_PART_SIZE = 8 * MiB
SIDECAR = ".~"  # marks internal objects; '~' never appears in a key (check_key)
MARKER, TAIL = ".~mpu", ".~tail-"


class StoreGap(Exception):
    """A write cannot start where it asks: past the durable end, or inside an uploaded part."""


def part_target(number: int, base: int) -> int:
    """Part size for part `number` when the total is unknown: doubles every 1000 parts.

    With an 8 MiB base the 10 000 S3 parts reach about 8 TiB, and small files still use small parts.
    """
    return min(base << ((number - 1) // 1000), 5 * 1024**3)


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str
    endpoint: str | None
    public_endpoint: str | None  # for presigned URLs; None: the same as `endpoint`
    region: str
    part_size: int

    @classmethod
    def parse(cls, url: str) -> S3Location:
        u = urlparse(url)
        q = {k: v[-1] for k, v in parse_qs(u.query).items()}
        return cls(
            bucket=u.netloc, prefix=u.path.strip("/"), endpoint=q.get("endpoint"),
            public_endpoint=q.get("public_endpoint") or q.get("endpoint"),
            region=q.get("region", "us-east-1"), part_size=max(MIN_PART_SIZE, int(q.get("part_size", DEFAULT_PART_SIZE))),
        )


def client_config() -> Config:
    # With a custom endpoint botocore presigns SigV2 by default; many S3-compatible stores want V4.
    return Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 3})


def _missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchUpload", "NotFound")


@dataclass
class _State:
    """What is durable for an append-written blob: parts 1..`parts` (`part_bytes` long) plus a tail."""

    final_size: int | None = None
    upload_id: str | None = None
    parts: int = 0
    part_bytes: int = 0
    tail: int = 0

    @property
    def durable(self) -> int:
        return self.final_size if self.final_size is not None else self.part_bytes + self.tail

    def marker(self) -> bytes:
        return json.dumps({"upload_id": self.upload_id, "parts": self.parts, "part_bytes": self.part_bytes,
                           "tail": self.tail}).encode()


class S3BlobStore(BlobStore, MultipartStore):
    def __init__(self, url: str) -> None:
        self.loc = S3Location.parse(url)
        self.bucket = self.loc.bucket
        self._client = None
        self._client_ctx = None
        self._client_lock = asyncio.Lock()
        # Presigning is a local computation: a synchronous boto3 client does it without any I/O. It signs
        # for the public endpoint: the host is part of what SigV4 signs, so clients must send that one.
        self.signer = boto3.client("s3", endpoint_url=self.loc.public_endpoint, region_name=self.loc.region,
                                   config=client_config())

    # -- plumbing -----------------------------------------------------------------------------

    async def _s3(self):
        if self._client is None:
            async with self._client_lock:
                if self._client is None:
                    self._client_ctx = AioSession().create_client(
                        "s3", endpoint_url=self.loc.endpoint, region_name=self.loc.region, config=client_config()
                    )
                    self._client = await self._client_ctx.__aenter__()
        return self._client

    async def close(self) -> None:
        if self._client_ctx is not None:
            await self._client_ctx.__aexit__(None, None, None)
            self._client = self._client_ctx = None

    def _k(self, key: str) -> str:
        check_key(key)
        return f"{self.loc.prefix}/{key}" if self.loc.prefix else key

    def _unk(self, s3_key: str) -> str:
        return s3_key[len(self.loc.prefix) + 1 :] if self.loc.prefix else s3_key

    async def _get(self, s3_key: str, length: int | None = None) -> bytes | None:
        """A small object (marker, tail), or its first `length` bytes."""
        s3 = await self._s3()
        args = {"Bucket": self.bucket, "Key": s3_key}
        if length is not None:
            if length == 0:
                return b""
            args["Range"] = f"bytes=0-{length - 1}"
        try:
            resp = await s3.get_object(**args)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        async with resp["Body"] as body:
            return await body.read()

    async def _head(self, s3_key: str) -> dict | None:
        s3 = await self._s3()
        try:
            return await s3.head_object(Bucket=self.bucket, Key=s3_key)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    # -- append writes ------------------------------------------------------------------------

    async def _state(self, key: str) -> _State:
        k = self._k(key)
        head = await self._head(k)
        if head is not None:
            return _State(final_size=head["ContentLength"])
        raw = await self._get(k + MARKER)
        return _State(**json.loads(raw)) if raw else _State()

    async def _rewind(self, k: str, state: _State, offset: int) -> None:
        """Forget durable bytes past `offset` (never acknowledged by the core)."""
        if offset >= state.part_bytes:
            state.tail = offset - state.part_bytes
            return
        counted, end = state.parts, 0
        state.parts = state.part_bytes = 0
        for part in await self.list_parts(self._unk(k), state.upload_id):  # numbered 1..n without gaps
            if part.number > counted or end + part.size > offset:
                break
            end += part.size
            state.parts, state.part_bytes = part.number, end
        tail = await self._head(f"{k}{TAIL}{state.parts + 1}")
        if offset > end and (tail is None or tail["ContentLength"] < offset - end):
            raise StoreGap(f"{k}: cannot rewind to {offset}, inside an uploaded part")
        state.tail = offset - end

    async def write(self, key: str, offset: int, chunks: AsyncIterable[bytes], *,
                    fence: WriteFence | None = None) -> int:
        if fence is not None:
            return await self._write_fenced(key, offset, chunks, fence)
        k = self._k(key)
        state = await self._state(key)
        if offset > state.durable or (state.final_size is not None and offset != state.final_size):
            raise StoreGap(f"{key}: write at {offset}, {state.durable} bytes durable")
        changed = offset < state.durable
        if changed:
            await self._rewind(k, state, offset)
        consumed = 0
        spool: _Spool | None = None
        async for chunk in chunks:
            if state.final_size is not None:
                raise StoreGap(f"{key}: already complete at {state.final_size} bytes")
            consumed += len(chunk)
            if spool is None:
                spool = await self._open_spool(k, state)
            spool.write(chunk)
            if spool.size >= part_target(state.parts + 1, self.loc.part_size):
                await self._flush_part(k, state, spool)
                spool = _Spool()
        if spool is not None and spool.size:
            if spool.size >= MIN_PART_SIZE:  # any part may be as small as 5 MiB
                await self._flush_part(k, state, spool)
            else:
                await self._put_tail(k, state, spool)
        if consumed or changed:
            s3 = await self._s3()
            await s3.put_object(Bucket=self.bucket, Key=k + MARKER, Body=state.marker())  # the commit point
        return consumed

    async def _open_spool(self, k: str, state: _State) -> _Spool:
        if state.upload_id is None:
            s3 = await self._s3()
            state.upload_id = (await s3.create_multipart_upload(Bucket=self.bucket, Key=k))["UploadId"]
        spool = _Spool()
        if state.tail:
            spool.write(await self._get(f"{k}{TAIL}{state.parts + 1}", state.tail) or b"")
            state.tail = 0  # now in the spool
        return spool

    async def _flush_part(self, k: str, state: _State, spool: _Spool) -> None:
        s3 = await self._s3()
        await s3.upload_part(
            Bucket=self.bucket, Key=k, UploadId=state.upload_id, PartNumber=state.parts + 1, Body=spool.rewound(),
            ContentLength=spool.size,
        )
        state.parts += 1
        state.part_bytes += spool.size
        spool.close()

    async def _put_tail(self, k: str, state: _State, spool: _Spool) -> None:
        s3 = await self._s3()
        await s3.put_object(
            Bucket=self.bucket, Key=f"{k}{TAIL}{state.parts + 1}", Body=spool.rewound(), ContentLength=spool.size
        )
        state.tail = spool.size
        spool.close()

    async def finalize(self, key: str, size: int, *, fence: WriteFence | None = None) -> None:
        if fence is not None:
            return await self._finalize_fenced(key, size, fence)
        k = self._k(key)
        state = await self._state(key)
        if state.final_size is not None:
            if state.final_size != size:
                raise StoreGap(f"{key}: finalized at {state.final_size}, not {size}")
            return  # finalized before a crash; nothing left to do
        if size > state.durable:
            raise StoreGap(f"{key}: finalize at {size} but {state.durable} bytes are stored")
        if size < state.durable:
            await self._rewind(k, state, size)
        s3 = await self._s3()
        tail = await self._get(f"{k}{TAIL}{state.parts + 1}", state.tail) if state.tail else b""
        if not state.parts:
            # S3 refuses to complete an upload with no parts: a small file is one plain object.
            await s3.put_object(Bucket=self.bucket, Key=k, Body=tail or b"")
            if state.upload_id:
                await self._abort(k, state.upload_id)
        else:
            parts = [p for p in await self.list_parts(key, state.upload_id) if p.number <= state.parts]
            if tail:
                resp = await s3.upload_part(
                    Bucket=self.bucket, Key=k, UploadId=state.upload_id, PartNumber=state.parts + 1, Body=tail
                )
                parts.append(PartInfo(state.parts + 1, len(tail), resp["ETag"]))
            await self._complete(k, state.upload_id, parts)
        await self._delete_sidecars(k)

    # -- fenced append writes (upload writers under a lease) --------------------------------------

    async def _write_fenced(self, key: str, offset: int, chunks: AsyncIterable[bytes], fence: WriteFence) -> int:
        k = self._k(key)
        ledger = S3Ledger.load(fence.state)
        # The record is committed together with the acknowledged offset, so the core always writes at
        # its end: nothing unacknowledged is ever in it, and nothing needs rewinding.
        if offset != ledger.durable:
            raise StoreGap(f"{key}: write at {offset}, {ledger.durable} bytes recorded")
        consumed = 0
        spool: _Spool | None = None
        async for chunk in chunks:
            consumed += len(chunk)
            if spool is None:
                spool = await self._open_fenced_spool(k, ledger)
            spool.write(chunk)
            if spool.size >= part_target(len(ledger.parts) + 1, self.loc.part_size):
                await self._flush_fenced_part(k, ledger, spool, fence)
                spool = _Spool()
        if spool is not None and spool.size:
            if spool.size >= MIN_PART_SIZE:
                await self._flush_fenced_part(k, ledger, spool, fence)
            else:
                # Named after this writer's epoch: a writer taken over rewrites only its own tail,
                # which no committed record names once anyone else has committed.
                s3 = await self._s3()
                await s3.put_object(Bucket=self.bucket, Key=f"{k}{TAIL}e{fence.epoch}", Body=spool.rewound(),
                                    ContentLength=spool.size)
                ledger.tail_epoch, ledger.tail = fence.epoch, spool.size
                spool.close()
        if consumed:
            fence.state = ledger.dump()
        return consumed

    async def _open_fenced_spool(self, k: str, ledger: S3Ledger) -> _Spool:
        if ledger.upload_id is None:
            # Two writers racing here make two uploads; only the one a commit records is ever used,
            # the other is aborted with the session (delete_prefix aborts every upload under it).
            s3 = await self._s3()
            ledger.upload_id = (await s3.create_multipart_upload(Bucket=self.bucket, Key=k))["UploadId"]
        spool = _Spool()
        if ledger.tail:
            spool.write(await self._get(f"{k}{TAIL}e{ledger.tail_epoch}", ledger.tail) or b"")
            ledger.tail_epoch, ledger.tail = None, 0  # now in the spool
        return spool

    async def _draw_part_number(self, fence: WriteFence) -> int:
        number = await fence.draw()
        if number > MAX_PARTS:
            raise StoreGap(f"S3 allows {MAX_PARTS} parts per object; this blob has used them all")
        return number

    async def _flush_fenced_part(self, k: str, ledger: S3Ledger, spool: _Spool, fence: WriteFence) -> None:
        # Drawn under the lease before the PUT: if this writer freezes now and wakes after a
        # takeover, its part lands under a number the new writer never uses and no record lists.
        number = await self._draw_part_number(fence)
        s3 = await self._s3()
        resp = await s3.upload_part(Bucket=self.bucket, Key=k, UploadId=ledger.upload_id, PartNumber=number,
                                    Body=spool.rewound(), ContentLength=spool.size)
        ledger.parts.append(PartInfo(number, spool.size, resp["ETag"]))
        spool.close()

    async def _finalize_fenced(self, key: str, size: int, fence: WriteFence) -> None:
        k = self._k(key)
        ledger = S3Ledger.load(fence.state)
        head = await self._head(k)
        expected = None  # the ETag, known when this call makes the object
        if head is None:
            if ledger.durable != size:
                raise BlobMismatch(f"{key}: finalize at {size} but {ledger.durable} bytes are recorded")
            expected = await self._compose_recorded(k, ledger, fence)
            head = await self._head(k)
        # The object is checked against the record, whoever made it (this call, or one that died or
        # was taken over after completing): `complete` is never reported for anything else.
        if head is None or head["ContentLength"] != size:
            got = None if head is None else head["ContentLength"]
            raise BlobMismatch(f"{key}: the stored object has {got} bytes, the database says {size}")
        if expected is not None and head.get("ETag") != expected:
            raise BlobMismatch(f"{key}: the stored object's ETag {head.get('ETag')} is not {expected}")
        await self._delete_sidecars(k)

    async def _compose_recorded(self, k: str, ledger: S3Ledger, fence: WriteFence) -> str | None:
        """Complete the upload from the recorded parts (and tail) only, never from ListParts; returns
        the ETag S3 gives such an object (the MD5 of a plain object, S3's md5-of-md5s for parts)."""
        s3 = await self._s3()
        tail = await self._get(f"{k}{TAIL}e{ledger.tail_epoch}", ledger.tail) if ledger.tail else b""
        if tail is None or len(tail) != ledger.tail:
            raise BlobMismatch(f"{k}: the recorded tail of {ledger.tail} bytes is missing")
        if not ledger.parts:  # S3 refuses an upload with no parts: a small file is one plain object
            await s3.put_object(Bucket=self.bucket, Key=k, Body=tail)
            if ledger.upload_id:
                await self._abort(k, ledger.upload_id)
            return f'"{hashlib.md5(tail).hexdigest()}"'
        parts = list(ledger.parts)
        if tail:
            number = await self._draw_part_number(fence)
            resp = await s3.upload_part(Bucket=self.bucket, Key=k, UploadId=ledger.upload_id, PartNumber=number,
                                        Body=tail)
            parts.append(PartInfo(number, len(tail), resp["ETag"]))
        try:
            await self._complete(k, ledger.upload_id, parts)
        except MultipartError:
            # Completed meanwhile by another finalizer of the same record (a taken-over one): the
            # size check that follows decides whether that object is right.
            if await self._head(k) is None:
                raise
            return None
        return multipart_etag([p.etag for p in parts])

    async def _delete_sidecars(self, k: str) -> None:
        s3 = await self._s3()
        keys = [k + MARKER]
        async for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=k + TAIL):
            keys += [o["Key"] for o in page.get("Contents", [])]
        await self._delete_keys(keys)

    async def compose(self, keys: list[str], dest_key: str) -> int:
        """Join complete blobs inside S3 (UploadPartCopy): no byte passes through omnidrop.

        Each source becomes one part, so every source but the last must be at least 5 MiB and none
        above 5 GiB; otherwise the generic way (stream through `write`) does it.
        """
        sizes = [await self.size(k) for k in keys]
        if not keys or any(s is None or s > 5 * 1024**3 for s in sizes) or any(s < MIN_PART_SIZE for s in sizes[:-1]):
            return await super().compose(keys, dest_key)
        s3 = await self._s3()
        dest = self._k(dest_key)
        upload_id = (await s3.create_multipart_upload(Bucket=self.bucket, Key=dest))["UploadId"]
        parts = []
        for number, key in enumerate(keys, start=1):
            resp = await s3.upload_part_copy(Bucket=self.bucket, Key=dest, UploadId=upload_id, PartNumber=number,
                                             CopySource={"Bucket": self.bucket, "Key": self._k(key)})
            parts.append(PartInfo(number, sizes[number - 1], resp["CopyPartResult"]["ETag"]))
        await self._complete(dest, upload_id, parts)
        return sum(sizes)

    # -- whole-object puts (derived outputs) ---------------------------------------------------

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Replace `key` with the stream: one PutObject, or a multipart upload of its own when the stream
        is longer than a part. S3 swaps the object in only when the put or the completion succeeds, so a
        reader sees the old bytes or the new ones; a writer killed midway leaves at most an open multipart
        upload, which the reaper aborts (`stale_multipart_uploads`)."""
        k = self._k(key)
        raw = await self._get(k + MARKER)
        if raw is not None:  # an append-written version never finished: it goes, the put replaces it
            upload_id = json.loads(raw)["upload_id"]
            if upload_id:
                await self._abort(k, upload_id)
            await self._delete_sidecars(k)
        s3 = await self._s3()
        spool, upload_id, parts, size = _Spool(), None, [], 0
        try:
            async for chunk in chunks:
                spool.write(chunk)
                size += len(chunk)
                if spool.size >= self.loc.part_size:
                    if upload_id is None:
                        upload_id = (await s3.create_multipart_upload(Bucket=self.bucket, Key=k))["UploadId"]
                    parts.append(await self._put_part(k, upload_id, len(parts) + 1, spool))
                    spool.close()
                    spool = _Spool()
            if upload_id is None:
                await s3.put_object(Bucket=self.bucket, Key=k, Body=spool.rewound(), ContentLength=spool.size)
            else:
                if spool.size:
                    parts.append(await self._put_part(k, upload_id, len(parts) + 1, spool))
                await self._complete(k, upload_id, parts)
        except BaseException:
            if upload_id is not None:
                await asyncio.shield(self._abort(k, upload_id))
            raise
        finally:
            spool.close()
        return size

    async def _put_part(self, k: str, upload_id: str, number: int, spool: _Spool) -> PartInfo:
        s3 = await self._s3()
        resp = await s3.upload_part(Bucket=self.bucket, Key=k, UploadId=upload_id, PartNumber=number,
                                    Body=spool.rewound(), ContentLength=spool.size)
        return PartInfo(number, spool.size, resp["ETag"])

    # -- operator chores ----------------------------------------------------------------------

    async def create_bucket(self) -> bool:
        """Create the bucket if it is missing (`omnidrop storage create-bucket`); True if it was made."""
        s3 = await self._s3()
        try:
            await s3.head_bucket(Bucket=self.bucket)
            return False
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise
        args = {} if self.loc.region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": self.loc.region}}
        await s3.create_bucket(Bucket=self.bucket, **args)
        return True

    async def open_multipart_uploads(self) -> AsyncIterator[tuple[str, str, datetime]]:
        """(key, upload id, initiated) of every multipart upload open under this store's prefix."""
        s3 = await self._s3()
        base = f"{self.loc.prefix}/" if self.loc.prefix else ""
        async for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=base):
            for u in page.get("Uploads", []):
                yield self._unk(u["Key"]), u["UploadId"], u["Initiated"]

    async def append_upload_id(self, key: str) -> str | None:
        """The multipart upload an unfinished append-written blob is building, if any (its marker)."""
        raw = await self._get(self._k(key) + MARKER)
        return json.loads(raw)["upload_id"] if raw else None

    # -- reads, listing, deletion -------------------------------------------------------------

    async def size(self, key: str) -> int | None:
        k = self._k(key)
        head = await self._head(k)
        if head is not None:
            return head["ContentLength"]
        raw = await self._get(k + MARKER)
        return _State(**json.loads(raw)).durable if raw else None

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        if end is not None and end <= start:
            return
        s3 = await self._s3()
        args = {"Bucket": self.bucket, "Key": self._k(key)}
        if start or end is not None:
            args["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        resp = await s3.get_object(**args)
        async with resp["Body"] as body:
            async for block in body.iter_chunks(READ_BLOCK):
                yield block

    async def delete(self, key: str) -> None:
        k = self._k(key)
        s3 = await self._s3()
        # Every upload for this key, not only the marker's: fenced blobs keep theirs in the database,
        # and a writer taken over may have left one of its own.
        async for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=k):
            for u in page.get("Uploads", []):
                if u["Key"] == k:
                    await self._abort(k, u["UploadId"])
        await self._delete_sidecars(k)
        await self._delete_keys([k])

    async def delete_prefix(self, prefix: str) -> None:
        s3 = await self._s3()
        base = self._k(prefix) + "/"
        uploads = s3.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=base)
        async for page in uploads:
            for u in page.get("Uploads", []):
                await self._abort(u["Key"], u["UploadId"])
        async for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base):
            await self._delete_keys([o["Key"] for o in page.get("Contents", [])])

    async def list(self, prefix: str) -> AsyncIterator[BlobInfo]:
        s3 = await self._s3()
        base = self._k(prefix) + "/"
        async for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base):
            for o in page.get("Contents", []):
                if SIDECAR not in o["Key"]:
                    yield BlobInfo(key=self._unk(o["Key"]), size=o["Size"])

    async def _delete_keys(self, keys: list[str]) -> None:
        s3 = await self._s3()
        for i in range(0, len(keys), 1000):
            batch = keys[i : i + 1000]
            if batch:
                await s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})

    async def _abort(self, s3_key: str, upload_id: str) -> None:
        s3 = await self._s3()
        try:
            await s3.abort_multipart_upload(Bucket=self.bucket, Key=s3_key, UploadId=upload_id)
        except ClientError as exc:
            if not _missing(exc):
                raise

    async def _complete(self, s3_key: str, upload_id: str, parts: list[PartInfo]) -> None:
        s3 = await self._s3()
        try:
            await s3.complete_multipart_upload(
                Bucket=self.bucket, Key=s3_key, UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in parts]},
            )
        except ClientError as exc:
            raise MultipartError(str(exc)) from exc

    # -- presigned URLs -----------------------------------------------------------------------

    def presign_get(self, key: str, expires_in: int = 3600) -> str:
        return self.signer.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._k(key)}, ExpiresIn=expires_in
        )

    def presign_put(self, key: str, expires_in: int = 3600) -> str:
        return self.signer.generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": self._k(key)}, ExpiresIn=expires_in
        )

    # -- presigned parts (MultipartStore) -----------------------------------------------------

    async def create_multipart(self, key: str) -> str:
        s3 = await self._s3()
        return (await s3.create_multipart_upload(Bucket=self.bucket, Key=self._k(key)))["UploadId"]

    def presign_part(self, key: str, upload_id: str, number: int, expires_in: int) -> str | None:
        return self.signer.generate_presigned_url(
            "upload_part",
            Params={"Bucket": self.bucket, "Key": self._k(key), "UploadId": upload_id, "PartNumber": number},
            ExpiresIn=expires_in,
        )

    async def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        s3 = await self._s3()
        parts: list[PartInfo] = []
        try:  # ListParts answers at most 1000 parts a page
            pages = s3.get_paginator("list_parts").paginate(Bucket=self.bucket, Key=self._k(key), UploadId=upload_id)
            async for page in pages:
                parts += [PartInfo(p["PartNumber"], p["Size"], p["ETag"]) for p in page.get("Parts", [])]
        except ClientError as exc:
            if _missing(exc):
                raise MultipartError(f"no such upload {upload_id!r}") from exc
            raise
        return sorted(parts, key=lambda p: p.number)

    async def complete_multipart(self, key: str, upload_id: str, parts: list[PartInfo]) -> None:
        await self._complete(self._k(key), upload_id, parts)

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        await self._abort(self._k(key), upload_id)

    async def completed_size(self, key: str) -> int | None:
        head = await self._head(self._k(key))
        return None if head is None else head["ContentLength"]


class _Spool:
    """Bytes of one part on their way to S3: in memory up to 8 MiB, then in a temporary file."""

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        self.size = 0

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.size += len(data)

    def rewound(self):
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        self.file.close()

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

S3 parts cannot be edited, so this store does not overwrite in place (`overwrites_in_place = False`):
the core skips bytes it already acknowledged and only writes at its acknowledged end. That end may lie
below the store's durable size (bytes stored but never acknowledged: a crash, a failed checksum); the
store then rewinds to it. Any acknowledged end is a part boundary or inside the tail that followed that
part, and tails are kept (one object per part number) until the file is finalized, so rewinding to an
acknowledged end always works.
"""

from __future__ import annotations

import asyncio
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

from omnidrop.storage.base import BlobInfo, BlobStore, check_key
from omnidrop.storage.multipart import MIN_PART_SIZE, MiB, MultipartError, MultipartStore, PartInfo

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
    overwrites_in_place = False

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

    async def write(self, key: str, offset: int, chunks: AsyncIterable[bytes]) -> int:
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

    async def finalize(self, key: str, size: int) -> None:
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
        raw = await self._get(k + MARKER)
        if raw is not None and json.loads(raw)["upload_id"]:
            await self._abort(k, json.loads(raw)["upload_id"])
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

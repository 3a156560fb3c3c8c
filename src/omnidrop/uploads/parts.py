"""The presigned-parts ledger: multipart uploads, their parts and ETags, S3's completion rules.

One protocol for every store. The store holds the bytes (S3 receives parts straight from clients;
on local disk omnidrop receives them through its own signed URLs); this ledger keeps omnidrop's own
record of each upload and part, re-synced from the store before completion because on S3 omnidrop
never sees the PUTs. Completion follows S3: part numbers strictly ascending, every ETag matching a
stored part, every part but the last at least 5 MiB; the object's ETag is the md5-of-md5s `-N` form.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from omnidrop.db.clock import db_time
from omnidrop.db.engine import Database
from omnidrop.db.models import MultipartPart, MultipartUpload
from omnidrop.storage.base import BlobMismatch
from omnidrop.storage.multipart import (
    MAX_PART_SIZE,
    MAX_PARTS,
    MultipartError,
    MultipartStore,
    PartInfo,
    multipart_etag,
    quote_etag,
)
from omnidrop.telemetry.context import body_counted
from omnidrop.telemetry.metrics import storage_errors
from omnidrop.uploads.errors import BodyInterrupted, UploadError
from omnidrop.uploads.ids import new_id

OPEN, COMPLETED, ABORTED = "open", "completed", "aborted"


class NoSuchUpload(UploadError):
    code = "no_such_upload"


class InvalidPartNumber(UploadError):
    code = "invalid_part_number"

    def __init__(self, number: int) -> None:
        super().__init__(f"part numbers run from 1 to {MAX_PARTS}, not {number}", part_number=number)


class MalformedPartList(UploadError):
    code = "malformed_part_list"


class InvalidPartOrder(UploadError):
    code = "invalid_part_order"

    def __init__(self, number: int) -> None:
        super().__init__(f"part {number} is out of order: part numbers must be strictly ascending", part_number=number)


class InvalidPart(UploadError):
    code = "invalid_part"

    def __init__(self, number: int, why: str) -> None:
        super().__init__(f"part {number}: {why}", part_number=number)


class EntityTooSmall(UploadError):
    code = "entity_too_small"

    def __init__(self, number: int, size: int, minimum: int) -> None:
        super().__init__(
            f"part {number} has {size} bytes; every part but the last needs at least {minimum}",
            part_number=number, size=size, minimum=minimum,
        )


class PartTooLarge(UploadError):
    code = "part_too_large"

    def __init__(self) -> None:
        super().__init__(f"a part may hold at most {MAX_PART_SIZE} bytes", limit=MAX_PART_SIZE)


class IncompleteBody(UploadError):
    """The part's body ended before its end (the client dropped): nothing of it is kept, as on S3."""

    code = "incomplete_body"

    def __init__(self) -> None:
        super().__init__("the part's body ended early; nothing of it was kept, PUT the part again")


class SizeMismatch(UploadError):
    code = "size_mismatch"

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"the parts add up to {got} bytes, {expected} were declared", expected=expected, got=got)


@dataclass(frozen=True)
class Upload:
    id: str
    owner_id: str
    key: str
    store_upload_id: str
    state: str
    size: int | None
    etag: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: MultipartUpload) -> Upload:
        return cls(row.id, row.owner_id, row.key, row.store_upload_id, row.state, row.size, row.etag, row.created_at)


def check_part_number(number: int) -> None:
    if not 1 <= number <= MAX_PARTS:
        raise InvalidPartNumber(number)


class PartsCore:
    def __init__(self, db: Database, store: MultipartStore) -> None:
        self.db = db
        self.store = store

    async def create(self, owner_id: str, key: str) -> Upload:
        row = MultipartUpload(
            id=new_id(24), owner_id=owner_id, key=key, store_upload_id=await self.store.create_multipart(key),
            state=OPEN, created_at=db_time(0),
        )
        async with self.db.write() as s:
            s.add(row)
            await s.flush()
            await s.refresh(row)  # the time the database gave it (stale-upload reaping orders by it)
        return Upload.of(row)

    async def get(self, upload_id: str, owner_id: str | None = None) -> Upload:
        async with self.db.read() as s:
            row = await s.get(MultipartUpload, upload_id)
        if row is None or (owner_id is not None and row.owner_id != owner_id):
            raise NoSuchUpload(f"no multipart upload {upload_id!r}")
        return Upload.of(row)

    async def open_upload(self, upload_id: str, owner_id: str | None = None) -> Upload:
        upload = await self.get(upload_id, owner_id)
        if upload.state != OPEN:
            raise NoSuchUpload(f"the multipart upload {upload_id!r} is {upload.state}")
        return upload

    def store_part_url(self, upload: Upload, number: int, expires_in: int) -> str | None:
        """The store's own presigned URL for a part, or None when omnidrop receives parts itself."""
        check_part_number(number)
        return self.store.presign_part(upload.key, upload.store_upload_id, number, expires_in)

    async def receive_part(self, upload_id: str, number: int, body: AsyncIterable[bytes]) -> PartInfo:
        """A part PUT to omnidrop's own part URL. Re-PUT of a number replaces the part."""
        check_part_number(number)
        upload = await self.open_upload(upload_id)
        try:
            with storage_errors("upload", (UploadError, BodyInterrupted)):
                part = await self.store.write_part(upload.key, upload.store_upload_id, number, _capped(body))
        except BodyInterrupted:  # the store discarded the cut part; a part number before it is untouched
            raise IncompleteBody() from None
        body_counted(part.size, part.size)
        await self._record(upload.id, [part])
        return part

    async def list_parts(self, upload: Upload) -> list[PartInfo]:
        """The store's parts, recorded in the ledger (on S3 this is how omnidrop learns of them)."""
        if upload.state == COMPLETED:
            async with self.db.read() as s:
                rows = (await s.scalars(
                    select(MultipartPart).where(MultipartPart.upload_id == upload.id).order_by(MultipartPart.number)
                )).all()
            return [PartInfo(r.number, r.size, r.etag) for r in rows]
        if upload.state != OPEN:
            raise NoSuchUpload(f"the multipart upload {upload.id!r} is {upload.state}")
        try:
            parts = await self.store.list_parts(upload.key, upload.store_upload_id)
        except MultipartError as exc:
            raise NoSuchUpload(str(exc)) from None
        await self._record(upload.id, parts)
        return parts

    async def complete(
        self, upload: Upload, wanted: list[tuple[int, str]], expected_size: int | None = None
    ) -> Upload:
        """Assemble the listed parts. Completing a completed upload again answers the same result."""
        if upload.state == COMPLETED:
            return upload
        if not wanted:
            raise MalformedPartList("the part list is empty")
        previous = 0
        for number, _ in wanted:
            check_part_number(number)
            if number <= previous:
                raise InvalidPartOrder(number)
            previous = number
        stored = {p.number: p for p in await self.list_parts(upload)}
        chosen: list[PartInfo] = []
        for i, (number, etag) in enumerate(wanted):
            part = stored.get(number)
            if part is None:
                raise InvalidPart(number, "no such part was uploaded")
            if quote_etag(etag) != part.etag:
                raise InvalidPart(number, "the ETag does not match the stored part")
            if i < len(wanted) - 1 and part.size < self.store.min_part_size:
                raise EntityTooSmall(number, part.size, self.store.min_part_size)
            chosen.append(part)
        size = sum(p.size for p in chosen)
        if expected_size is not None and size != expected_size:
            raise SizeMismatch(expected_size, size)
        try:
            await self.store.complete_multipart(upload.key, upload.store_upload_id, chosen)
        except MultipartError:
            again = await self.get(upload.id)
            if again.state == COMPLETED:  # a concurrent request completed it first
                return again
            raise
        # The upload is recorded complete only once the object the store made is as long as its parts.
        stored = await self.store.completed_size(upload.key)
        if stored != size:
            raise BlobMismatch(f"{upload.key}: the completed object has {stored} bytes, its parts {size}")
        etag = multipart_etag([p.etag for p in chosen])
        async with self.db.write() as s:
            await s.execute(
                update(MultipartUpload).where(MultipartUpload.id == upload.id)
                .values(state=COMPLETED, size=size, etag=etag, completed_at=db_time(0))
            )
            # The ledger keeps exactly the parts the object is made of.
            await s.execute(delete(MultipartPart).where(
                MultipartPart.upload_id == upload.id, MultipartPart.number.not_in([p.number for p in chosen])
            ))
        return await self.get(upload.id)

    async def abort(self, upload: Upload) -> None:
        """Remove the parts and forget them; a finished or aborted upload is left as it is."""
        if upload.state != OPEN:
            return
        await self.store.abort_multipart(upload.key, upload.store_upload_id)
        async with self.db.write() as s:
            await s.execute(delete(MultipartPart).where(MultipartPart.upload_id == upload.id))
            await s.execute(update(MultipartUpload).where(MultipartUpload.id == upload.id).values(state=ABORTED))

    async def _record(self, upload_id: str, parts: list[PartInfo]) -> None:
        if not parts:
            return
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        now = db_time(0)
        async with self.db.write() as s:
            for p in parts:
                stmt = insert(MultipartPart).values(upload_id=upload_id, number=p.number, size=p.size, etag=p.etag,
                                                    updated_at=now)
                await s.execute(stmt.on_conflict_do_update(
                    index_elements=["upload_id", "number"], set_={"size": p.size, "etag": p.etag, "updated_at": now}
                ))


async def _capped(body: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in body:
        total += len(chunk)
        if total > MAX_PART_SIZE:
            raise PartTooLarge()
        yield chunk

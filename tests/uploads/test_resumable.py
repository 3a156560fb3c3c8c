"""The resumable-upload layer on the core: exact offsets, deferred length, checksums, concatenation, expiry."""

from __future__ import annotations

import asyncio
import hashlib
import os
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from omnidrop.auth.keys import KeyService
from omnidrop.db.clock import db_now, db_time
from omnidrop.db.models import OutboxEvent, ResumableUpload, UploadFile, UploadSession
from omnidrop.db.types import utcnow
from omnidrop.storage.local import LocalBlobStore
from omnidrop.storage.s3 import S3BlobStore
from omnidrop.uploads.checksums import ChunkDigest
from omnidrop.uploads.core import UploadCore, UploadLimits
from omnidrop.uploads.errors import (
    BodyInterrupted,
    ChecksumMismatch,
    FileTooLarge,
    LengthExceeded,
    OffsetMismatch,
    TotalMismatch,
)
from omnidrop.uploads.events import FINISHED, EventBus
from omnidrop.uploads.leases import Lease
from omnidrop.uploads.outbox import Outbox, Sink
from omnidrop.uploads.resumable import (
    ConcatenationMismatch,
    FinalUploadImmutable,
    InvalidConcatenation,
    ResumableUploads,
    UploadGone,
    UploadNotFound,
)
from tests.support.clock import skew_process_clock


async def body(*pieces: bytes):
    for piece in pieces:
        yield piece


async def cut(data: bytes):
    yield data
    raise BodyInterrupted()


@pytest.fixture
async def uploads(db, tmp_path):
    core = UploadCore(db, LocalBlobStore(tmp_path / "blobs"), UploadLimits(ttl_seconds=60, max_file_bytes=10_000))
    return ResumableUploads(core, EventBus())


@pytest.fixture
async def owner(db):
    return await KeyService(db).ensure_owner(f"owner-{os.urandom(4).hex()}")


async def content(uploads: ResumableUploads, owner: str, upload_id: str) -> bytes:
    info = await uploads.get(owner, upload_id)
    return b"".join([c async for c in uploads.core.store.read(info.blob_key)])


def sha1(data: bytes) -> ChunkDigest:
    return ChunkDigest("sha1", hashlib.sha1(data).digest())


async def test_appends_must_start_exactly_at_the_offset(uploads, owner):
    info = await uploads.create(owner, length=6)
    await uploads.append(owner, info.id, offset=0, body=body(b"abc"))
    for wrong in (0, 2, 4):
        with pytest.raises(OffsetMismatch) as mismatch:
            await uploads.append(owner, info.id, offset=wrong, body=body(b"xyz"))
        assert mismatch.value.details["received"] == 3
    info = await uploads.append(owner, info.id, offset=3, body=body(b"def"))
    assert (info.offset, info.complete) == (6, True)
    assert await content(uploads, owner, info.id) == b"abcdef"


async def test_a_deferred_length_is_declared_once(uploads, owner):
    info = await uploads.create(owner, length=None)
    assert info.length is None
    info = await uploads.append(owner, info.id, offset=0, body=body(b"abcd"))
    assert (info.offset, info.length, info.complete) == (4, None, False)
    with pytest.raises(TotalMismatch):
        await uploads.append(owner, info.id, offset=4, body=body(), total=3)  # less than already received
    info = await uploads.append(owner, info.id, offset=4, body=body(b"ef"), total=6)
    assert (info.length, info.complete) == (6, True)
    with pytest.raises(TotalMismatch):
        await uploads.append(owner, info.id, offset=6, body=body(), total=7)


async def test_a_deferred_length_still_has_the_size_cap(uploads, owner):
    info = await uploads.create(owner, length=None)
    with pytest.raises(LengthExceeded):
        await uploads.append(owner, info.id, offset=0, body=body(b"x" * 10_001))
    with pytest.raises(FileTooLarge):
        await uploads.create(owner, length=10_001)


async def test_a_checksum_mismatch_discards_the_chunk(uploads, owner):
    info = await uploads.create(owner, length=6)
    await uploads.append(owner, info.id, offset=0, body=body(b"abc"), check=sha1(b"abc"))
    with pytest.raises(ChecksumMismatch):
        await uploads.append(owner, info.id, offset=3, body=body(b"XYZ"), check=sha1(b"def"))
    assert (await uploads.get(owner, info.id)).offset == 3
    # A cut chunk cannot be verified: none of it counts either.
    info = await uploads.append(owner, info.id, offset=3, body=cut(b"de"), check=sha1(b"def"))
    assert info.offset == 3
    await uploads.append(owner, info.id, offset=3, body=body(b"d", b"ef"), check=sha1(b"def"))
    assert await content(uploads, owner, info.id) == b"abcdef"


async def test_an_interrupted_body_keeps_what_arrived(uploads, owner):
    info = await uploads.create(owner, length=6)
    info = await uploads.append(owner, info.id, offset=0, body=cut(b"abcd"))
    assert info.offset == 4


async def test_partials_concatenate_in_order_and_the_final_is_immutable(uploads, owner):
    parts = []
    for piece in (b"one-", b"two-", b"three"):
        part = await uploads.create(owner, length=len(piece), concat="partial")
        await uploads.append(owner, part.id, offset=0, body=body(piece))
        parts.append(part.id)
    final = await uploads.concatenate(owner, [parts[2], parts[0], parts[1]], meta={"filename": "x"})
    assert (final.length, final.offset, final.complete, final.parts) == (13, 13, True, (parts[2], parts[0], parts[1]))
    assert await content(uploads, owner, final.id) == b"three" + b"one-" + b"two-"
    with pytest.raises(FinalUploadImmutable):
        await uploads.append(owner, final.id, offset=13, body=body(b"x"))


async def test_concatenation_refuses_strangers_and_unfinished_parts(uploads, owner, db):
    stranger = await KeyService(db).ensure_owner(f"stranger-{os.urandom(4).hex()}")
    foreign = await uploads.create(stranger, length=1, concat="partial")
    await uploads.append(stranger, foreign.id, offset=0, body=body(b"x"))
    unfinished = await uploads.create(owner, length=5, concat="partial")
    plain = await uploads.create(owner, length=0)
    for ids in ([foreign.id], [unfinished.id], [plain.id], [], ["../../x"]):
        with pytest.raises(InvalidConcatenation):
            await uploads.concatenate(owner, ids)


async def test_expired_and_terminated_uploads_are_gone_and_leave_tombstones(uploads, owner, db):
    expiring = await uploads.create(owner, length=5)
    terminated = await uploads.create(owner, length=5)
    await uploads.terminate(owner, terminated.id)
    async with db.write() as s:
        await s.execute(update(UploadSession).where(UploadSession.id == expiring.id)
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    for upload_id in (expiring.id, terminated.id):
        with pytest.raises(UploadGone):
            await uploads.get(owner, upload_id)
    await uploads.core.reap_expired()
    assert await uploads.reap() >= 1
    with pytest.raises(UploadGone):
        await uploads.get(owner, expiring.id)
    with pytest.raises(UploadNotFound):
        await uploads.get(owner, "neverexisted")
    # Tombstones go after their retention.
    uploads.tombstone_retention = timedelta(seconds=-1)
    await uploads.reap()
    with pytest.raises(UploadNotFound):
        await uploads.get(owner, terminated.id)


async def test_a_write_pushes_expiry_out_at_most_once_a_minute(db, tmp_path, owner):
    core = UploadCore(db, LocalBlobStore(tmp_path / "blobs"), UploadLimits(ttl_seconds=3600))
    uploads = ResumableUploads(core, EventBus())
    info = await uploads.create(owner, length=6)
    after_create = info.expires_at
    first = await uploads.append(owner, info.id, offset=0, body=body(b"ab"))
    assert first.expires_at == after_create  # moments after creation: the session row is left alone
    soon = utcnow() + timedelta(minutes=5)  # as if 55 minutes had passed since the last write
    async with db.write() as s:
        await s.execute(update(UploadSession).where(UploadSession.id == info.id).values(expires_at=soon))
    second = await uploads.append(owner, info.id, offset=2, body=body(b"cd"))
    assert second.expires_at > utcnow() + timedelta(minutes=59)
    assert (await uploads.get(owner, info.id)).expires_at == second.expires_at  # what it reports is stored
    done = await uploads.append(owner, info.id, offset=4, body=body(b"ef"))
    assert (done.offset, done.complete) == (6, True) and await content(uploads, owner, info.id) == b"abcdef"


async def test_append_takes_the_upload_as_just_read(uploads, owner, db):
    info = await uploads.create(owner, length=4)
    reads = 0
    real = uploads.get

    async def counting(*a, **kw):
        nonlocal reads
        reads += 1
        return await real(*a, **kw)

    uploads.get = counting
    after = await uploads.append(owner, info.id, offset=0, body=body(b"ab"), current=info)
    assert reads == 0 and (after.offset, after.complete) == (2, False)
    stranger = await KeyService(db).ensure_owner(f"stranger-{os.urandom(4).hex()}")
    with pytest.raises(UploadNotFound):  # a `current` of another upload or owner is not taken on trust
        await uploads.append(stranger, info.id, offset=2, body=body(b"cd"), current=after)
    assert reads == 1


async def test_a_process_clock_running_late_does_not_let_a_written_upload_expire(db, tmp_path, owner, monkeypatch):
    """Whether a write moves the expiry is the database's call: a node 2 h behind (1 h TTL) still
    keeps an upload being written alive, and reports the lifetime the database gives it."""
    core = UploadCore(db, LocalBlobStore(tmp_path / "blobs"), UploadLimits(ttl_seconds=3600))
    uploads = ResumableUploads(core, EventBus())
    info = await uploads.create(owner, length=4)
    async with db.write() as s:  # 55 minutes since the last write
        await s.execute(update(UploadSession).where(UploadSession.id == info.id).values(expires_at=db_time(300)))
    skew_process_clock(monkeypatch, timedelta(hours=-2))
    after = await uploads.append(owner, info.id, offset=0, body=body(b"ab"))
    async with db.read() as s:
        now = await db_now(s)
    assert after.expires_at > now + timedelta(minutes=59)
    assert (await uploads.get(owner, info.id)).expires_at == after.expires_at
    assert 3500 < after.lifetime <= 3600 and 3500 < (await uploads.get(owner, info.id)).lifetime <= 3600


async def test_tombstones_age_by_the_database_clock(uploads, owner, monkeypatch):
    """A node whose clock runs 8 days ahead does not drop a tombstone kept for 7."""
    terminated = await uploads.create(owner, length=5)
    await uploads.terminate(owner, terminated.id)
    skew_process_clock(monkeypatch, timedelta(days=8))
    await uploads.reap()
    with pytest.raises(UploadGone):  # still a tombstone, not unknown
        await uploads.get(owner, terminated.id)


# -- a writer that died between committing the last byte and marking the file complete -----------------


class Died(Exception):
    """The process died here (the test's stand-in for SIGKILL)."""


@pytest.fixture(params=["local", "s3"])
async def blob_store(request, tmp_path):
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
        return
    store = S3BlobStore(request.getfixturevalue("moto").storage_url())
    yield store
    await store.close()


def die_before_complete(core: UploadCore, monkeypatch) -> None:
    """The next completion dies right after `received == total` committed, before `complete`: and like a
    killed process it never gives its lease back."""
    real = core._mark_complete

    async def dying(*a, **kw):
        monkeypatch.setattr(core, "_mark_complete", real)
        monkeypatch.setattr(Lease, "release", lambda self: asyncio.sleep(0))
        raise Died()

    monkeypatch.setattr(core, "_mark_complete", dying)


async def lapse_leases(db, file_id: int) -> None:
    free = update(UploadFile).where(UploadFile.id == file_id).values(lease_expires=db_time(-1))
    async with db.write() as s:
        await s.execute(free)


async def finished_rows(db, upload_id: str) -> int:
    async with db.read() as s:
        rows = (await s.scalars(select(OutboxEvent).where(OutboxEvent.upload_id == upload_id))).all()
    return sum(r.payload["type"] == FINISHED for r in rows)


def recording_uploads(db, store, **limits) -> ResumableUploads:
    async def deliver(event):
        pass

    core = UploadCore(db, store, UploadLimits(**limits))
    return ResumableUploads(core, EventBus(), outbox=Outbox([Sink("test", lambda e: True, deliver)]))


async def test_a_head_completes_an_upload_whose_writer_died_before_marking_it(db, blob_store, owner, monkeypatch):
    uploads = recording_uploads(db, blob_store)
    data = os.urandom(3000)
    info = await uploads.create(owner, length=len(data))
    await uploads.append(owner, info.id, offset=0, body=body(data[:1000]))
    die_before_complete(uploads.core, monkeypatch)
    with pytest.raises(Died):
        await uploads.append(owner, info.id, offset=1000, body=body(data[1000:]))
    monkeypatch.undo()
    # Its writer's lease is still live: a read leaves the file to it (it would complete it itself).
    held = await uploads.get(owner, info.id)
    assert (held.offset, held.complete) == (3000, False)
    await lapse_leases(db, info.file_id)  # the dead writer renews no more
    healed = await uploads.get(owner, info.id)
    assert (healed.offset, healed.length, healed.complete) == (3000, 3000, True)
    assert await content(uploads, owner, info.id) == data
    assert await uploads.get(owner, info.id) == healed  # once
    assert await finished_rows(db, info.id) == 1  # the finished event, recorded once


async def test_housekeeping_completes_stranded_files_of_every_protocol(db, blob_store, owner, monkeypatch):
    uploads = recording_uploads(db, blob_store, allowed_extensions=["e57"])
    core = uploads.core
    data = os.urandom(2000)
    resumable = await uploads.create(owner, length=len(data))
    die_before_complete(core, monkeypatch)
    with pytest.raises(Died):
        await uploads.append(owner, resumable.id, offset=0, body=body(data))
    monkeypatch.undo()
    session = (await core.create_session(owner)).id
    die_before_complete(core, monkeypatch)
    with pytest.raises(Died):  # a Content-Range upload's last chunk
        await core.write(owner, session, "scan.e57", start=0, length=len(data), total=len(data), body=body(data))
    monkeypatch.undo()
    chunked = (await core.get_file(owner, session, "scan.e57"))
    assert (chunked.received, chunked.complete) == (2000, False)
    await uploads.finish_stranded()  # (the database is shared: count only this test's files)
    # Leases not lapsed yet: their writers may be alive, and complete the files themselves.
    assert not (await core.get_file(owner, session, "scan.e57")).complete
    assert not (await uploads.get(owner, resumable.id)).complete
    async with db.read() as s:
        ids = list(await s.scalars(select(UploadFile.id).where(UploadFile.session_id.in_([resumable.id, session]))))
    for file_id in ids:
        await lapse_leases(db, file_id)
    assert await uploads.finish_stranded() >= 2
    assert (await core.get_file(owner, session, "scan.e57")).complete
    assert (await uploads.get(owner, resumable.id)).complete
    assert await content(uploads, owner, resumable.id) == data
    await uploads.finish_stranded()
    assert await finished_rows(db, resumable.id) == 1  # once


async def test_a_final_upload_whose_composed_object_is_short_stays_incomplete(db, blob_store, owner):
    """A partial whose stored bytes were lost behind the database's back: the composed object is
    shorter than the parts' recorded lengths, so the final upload is refused and never complete."""
    uploads = recording_uploads(db, blob_store)
    parts = []
    for piece in (b"first-part-", b"second-part"):
        part = await uploads.create(owner, length=len(piece), concat="partial")
        parts.append(await uploads.append(owner, part.id, offset=0, body=body(piece)))
    await blob_store.put(parts[1].blob_key, body(b"second"))  # 5 of its 11 bytes gone
    with pytest.raises(ConcatenationMismatch) as refused:
        await uploads.concatenate(owner, [p.id for p in parts])
    assert refused.value.details["expected"] == 22 and "22 bytes" in str(refused.value)
    async with db.read() as s:
        finals = (await s.scalars(select(UploadFile).where(UploadFile.blob_key.not_in([p.blob_key for p in parts]),
                                                           UploadFile.session_id.in_(select(ResumableUpload.id).where(
                                                               ResumableUpload.owner_id == owner,
                                                               ResumableUpload.concat == "final"))))).all()
    assert [(f.complete, f.received) for f in finals] == [(False, 0)]
    async with db.read() as s:
        finished = (await s.scalars(select(OutboxEvent).where(OutboxEvent.upload_id == finals[0].session_id))).all()
    assert [e.payload["type"] for e in finished] == ["created"]  # never reported finished
    await blob_store.put(parts[1].blob_key, body(b"second-part"))  # whole again: the same parts compose
    final = await uploads.concatenate(owner, [p.id for p in parts])
    assert final.complete and await content(uploads, owner, final.id) == b"first-part-second-part"

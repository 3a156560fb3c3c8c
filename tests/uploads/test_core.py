"""The upload core against a real database (SQLite and PostgreSQL) and the local blob store."""

import asyncio
import hashlib
import os
from datetime import timedelta

import pytest
from sqlalchemy import update

from omnidrop.auth.keys import KeyService
from omnidrop.db.models import UploadSession
from omnidrop.db.types import utcnow
from omnidrop.storage.local import LocalBlobStore
from omnidrop.uploads.core import UploadCore, UploadLimits
from omnidrop.uploads.errors import (
    BodyInterrupted,
    ExtensionNotAllowed,
    FileBusy,
    FileNotFound,
    FileTooLarge,
    InvalidFilename,
    InvalidUploadId,
    LengthMismatch,
    NonContiguous,
    SessionNotFound,
    SessionTooLarge,
    TotalMismatch,
)

LIMITS = UploadLimits(
    ttl_seconds=3600, max_file_bytes=10_000, max_session_bytes=15_000, allowed_extensions=["jpg", "e57", "zip"],
    lease_ttl=5.0, lease_renew=0.5, lease_wait=0.3,
)


async def body(data: bytes, piece: int = 1000):
    for i in range(0, len(data), piece):
        yield data[i : i + piece]
        await asyncio.sleep(0)


async def cut_after(data: bytes, n: int):
    """A body whose client vanishes after n bytes."""
    yield data[:n]
    raise BodyInterrupted()


@pytest.fixture
async def core(db, tmp_path):
    return UploadCore(db, LocalBlobStore(tmp_path / "blobs"), LIMITS)


@pytest.fixture
async def owner(db):
    return await KeyService(db).ensure_owner(f"owner-{os.urandom(4).hex()}")


def blob(core: UploadCore, session: str) -> bytes:
    root = core.store.root / "uploads" / session
    (path,) = list(root.iterdir())
    return path.read_bytes()


async def put(core, owner, sid, name, data, start, total, length=None):
    length = len(data) if length is None else length
    return await core.write(owner, sid, name, start=start, length=length, total=total, body=body(data))


async def test_chunks_in_order_complete_the_file(core, owner):
    data = os.urandom(5000)
    sid = (await core.create_session(owner)).id
    p = await put(core, owner, sid, "scan.e57", data[:2000], 0, 5000)
    assert (p.received, p.total, p.complete) == (2000, 5000, False)
    p = await put(core, owner, sid, "scan.e57", data[2000:], 2000, 5000)
    assert (p.received, p.complete) == (5000, True)
    assert blob(core, sid) == data
    assert (await core.get_file(owner, sid, "scan.e57")).complete


async def test_gap_is_refused_with_the_current_offset(core, owner):
    sid = (await core.create_session(owner)).id
    await put(core, owner, sid, "a.jpg", b"x" * 100, 0, 1000)
    with pytest.raises(NonContiguous) as info:
        await put(core, owner, sid, "a.jpg", b"y" * 100, 200, 1000)
    assert info.value.details["received"] == 100


async def test_an_overlapping_resend_is_idempotent(core, owner):
    data = os.urandom(3000)
    sid = (await core.create_session(owner)).id
    await put(core, owner, sid, "a.jpg", data[:2000], 0, 3000)
    p = await put(core, owner, sid, "a.jpg", data[1000:2000], 1000, 3000)  # pure re-send
    assert p.received == 2000
    p = await put(core, owner, sid, "a.jpg", data[1500:], 1500, 3000)  # overlaps, then extends
    assert (p.received, p.complete) == (3000, True)
    assert blob(core, sid) == data


async def test_complete_file_is_left_unchanged(core, owner):
    data = os.urandom(500)
    sid = (await core.create_session(owner)).id
    await put(core, owner, sid, "a.jpg", data, 0, 500)
    p = await put(core, owner, sid, "a.jpg", os.urandom(500), 0, 500)
    assert (p.received, p.complete) == (500, True)
    # A second file of the same name but another size is ignored too, as the spec says.
    p = await put(core, owner, sid, "a.jpg", b"zz", 0, 2)
    assert (p.received, p.total, p.complete) == (500, 500, True)
    assert blob(core, sid) == data


async def test_empty_file_completes_at_once(core, owner):
    sid = (await core.create_session(owner)).id
    p = await put(core, owner, sid, "empty.jpg", b"", 0, 0)
    assert (p.received, p.total, p.complete) == (0, 0, True)


async def test_declared_total_cannot_change_midway(core, owner):
    sid = (await core.create_session(owner)).id
    await put(core, owner, sid, "a.jpg", b"x" * 10, 0, 100)
    with pytest.raises(TotalMismatch) as info:
        await put(core, owner, sid, "a.jpg", b"x" * 10, 10, 200)
    assert info.value.details["total"] == 100


async def test_body_longer_or_shorter_than_declared_is_refused_and_not_counted(core, owner):
    sid = (await core.create_session(owner)).id
    with pytest.raises(LengthMismatch):
        await put(core, owner, sid, "a.jpg", b"x" * 150, 0, 1000, length=100)
    with pytest.raises(LengthMismatch):
        await put(core, owner, sid, "a.jpg", b"x" * 50, 0, 1000, length=100)
    assert (await core.get_file(owner, sid, "a.jpg")).received == 0


async def test_interrupted_body_keeps_the_durable_prefix(core, owner):
    data = os.urandom(4000)
    sid = (await core.create_session(owner)).id
    p = await core.write(owner, sid, "a.jpg", start=0, length=4000, total=4000, body=cut_after(data, 1234))
    assert (p.received, p.complete) == (1234, False)
    p = await put(core, owner, sid, "a.jpg", data[1234:], 1234, 4000)
    assert p.complete and blob(core, sid) == data


async def test_size_caps(core, owner):
    sid = (await core.create_session(owner)).id
    with pytest.raises(FileTooLarge) as info:
        await put(core, owner, sid, "big.e57", b"x", 0, 10_001)
    assert info.value.details["limit"] == 10_000
    await put(core, owner, sid, "one.e57", b"x", 0, 9_000)
    with pytest.raises(SessionTooLarge) as info:
        await put(core, owner, sid, "two.e57", b"x", 0, 6_001)
    assert info.value.details["limit"] == 15_000
    await put(core, owner, sid, "two.e57", b"x", 0, 6_000)


async def test_names_and_extensions(core, owner):
    sid = (await core.create_session(owner)).id
    await put(core, owner, sid, "dir/sub/photo.jpg", b"abc", 0, 3)
    assert [f.name for f in (await core.get_session(owner, sid)).files] == ["dirsubphoto.jpg"]
    assert (await core.get_file(owner, sid, "dir/sub/photo.jpg")).complete
    with pytest.raises(ExtensionNotAllowed):
        await put(core, owner, sid, "x.exe", b"abc", 0, 3)
    with pytest.raises(InvalidFilename):
        await put(core, owner, sid, "../", b"abc", 0, 3)
    with pytest.raises(FileNotFound):
        await core.get_file(owner, sid, "missing.jpg")


async def test_sessions_belong_to_their_owner(core, owner, db):
    other = await KeyService(db).ensure_owner(f"other-{os.urandom(4).hex()}")
    sid = (await core.create_session(owner)).id
    with pytest.raises(SessionNotFound):
        await core.get_session(other, sid)
    with pytest.raises(SessionNotFound):
        await put(core, other, sid, "a.jpg", b"abc", 0, 3)
    await core.delete_session(other, sid)  # idempotent and harmless
    await core.get_session(owner, sid)
    with pytest.raises(InvalidUploadId):
        await core.get_session(owner, "bad id!")


async def test_delete_is_idempotent_and_removes_bytes(core, owner):
    sid = (await core.create_session(owner)).id
    await put(core, owner, sid, "a.jpg", b"abc", 0, 3)
    await core.delete_session(owner, sid)
    await core.delete_session(owner, sid)
    assert not (core.store.root / "uploads" / sid).exists()
    with pytest.raises(SessionNotFound):
        await core.get_session(owner, sid)


async def test_reaper_removes_only_expired_sessions(core, owner):
    old = (await core.create_session(owner)).id
    await put(core, owner, old, "a.jpg", b"abc", 0, 3)
    fresh = (await core.create_session(owner)).id
    later = utcnow() + timedelta(seconds=LIMITS.ttl_seconds + 60)
    # Activity on `fresh` just before the reaper's "now" keeps it alive.
    core.limits = UploadLimits(**{**LIMITS.__dict__, "ttl_seconds": LIMITS.ttl_seconds + 120})
    await put(core, owner, fresh, "b.jpg", b"abc", 0, 3)
    core.limits = LIMITS
    assert await core.reap_expired(later) >= 1
    with pytest.raises(SessionNotFound):
        await core.get_session(owner, old)
    assert not (core.store.root / "uploads" / old).exists()
    assert [f.name for f in (await core.get_session(owner, fresh)).files] == ["b.jpg"]


async def test_a_session_whose_bytes_cannot_go_now_does_not_keep_the_others(core, owner, monkeypatch):
    stuck, other = (await core.create_session(owner)).id, (await core.create_session(owner)).id
    for sid in (stuck, other):
        await put(core, owner, sid, "a.jpg", b"abc", 0, 3)
    later = utcnow() + timedelta(seconds=LIMITS.ttl_seconds + 60)
    purge = core._purge

    async def failing_for_stuck(session_id):
        if session_id == stuck:
            raise OSError("store unreachable")
        await purge(session_id)

    monkeypatch.setattr(core, "_purge", failing_for_stuck)
    await core.reap_expired(later)
    assert not (core.store.root / "uploads" / other).exists()
    assert (core.store.root / "uploads" / stuck).exists()  # kept, DELETING: the next reap comes back
    monkeypatch.setattr(core, "_purge", purge)
    await core.reap_expired(later)
    assert not (core.store.root / "uploads" / stuck).exists()


async def test_second_writer_waits_then_gets_busy_with_received(core, owner):
    sid = (await core.create_session(owner)).id
    release = asyncio.Event()

    async def slow():
        yield b"a" * 100
        await release.wait()
        yield b"a" * 100

    first = asyncio.create_task(core.write(owner, sid, "a.jpg", start=0, length=200, total=1000, body=slow()))
    await asyncio.sleep(0.2)
    with pytest.raises(FileBusy) as info:
        await put(core, owner, sid, "a.jpg", b"b" * 100, 0, 1000)
    assert info.value.details["received"] == 0
    release.set()
    assert (await first).received == 200
    assert blob(core, sid)[:200] == b"a" * 200


async def test_concurrent_writers_never_interleave(core, owner):
    """Many writers race for one file with distinct contents: the result is exactly one of them."""
    sid = (await core.create_session(owner)).id
    contents = [bytes([i]) * 4000 for i in range(6)]
    core.limits = UploadLimits(**{**LIMITS.__dict__, "lease_wait": 5.0})

    async def upload(data):
        try:
            return await core.write(owner, sid, "race.jpg", start=0, length=4000, total=4000, body=body(data, 97))
        except FileBusy:
            return None

    results = await asyncio.gather(*(upload(c) for c in contents))
    assert any(r is not None and r.complete for r in results)
    assert blob(core, sid) in contents
    assert hashlib.sha256(blob(core, sid)).hexdigest() in {hashlib.sha256(c).hexdigest() for c in contents}


async def test_writes_push_the_session_expiry_out_at_most_once_a_minute(core, owner, db):
    sid = (await core.create_session(owner)).id
    created = (await core.get_session(owner, sid)).expires_at
    await put(core, owner, sid, "a.jpg", b"ab", 0, 6)
    assert (await core.get_session(owner, sid)).expires_at == created  # moments later: the row is left alone
    soon = utcnow() + timedelta(minutes=5)  # as if 55 of its 60 minutes had passed since
    async with db.write() as s:
        await s.execute(update(UploadSession).where(UploadSession.id == sid).values(expires_at=soon))
    await put(core, owner, sid, "a.jpg", b"cd", 2, 6)
    assert (await core.get_session(owner, sid)).expires_at > utcnow() + timedelta(minutes=59)

"""Fencing (DESIGN.md invariant 8) and the database's clock for leases (invariant 9), in process.

The cluster version (real server processes frozen with SIGSTOP) is tests/cluster/test_fencing.py.
"""

import asyncio
import hashlib
import os
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from omnidrop.auth.keys import KeyService
from omnidrop.db import types as db_types
from omnidrop.db.clock import db_time
from omnidrop.db.models import UploadFile, UploadSession
from omnidrop.storage.base import BlobMismatch
from omnidrop.storage.local import LocalBlobStore
from omnidrop.storage.multipart import PartInfo
from omnidrop.storage.s3 import S3BlobStore
from omnidrop.storage.s3_ledger import S3Ledger
from omnidrop.uploads.core import UploadCore, UploadLimits
from omnidrop.uploads.errors import FileBusy
from omnidrop.uploads.fence import LeaseFence
from omnidrop.uploads.leases import Lease, LeaseLost
from tests.support.upload_rows import new_upload_file

MiB = 1024 * 1024


@pytest.fixture
async def file_id(db):
    return await new_upload_file(db, owner="fence", name="f.mp4", blob_key="uploads/{session}/f", total=None)


async def expire_lease(db, file_id: int) -> None:
    """The holder went silent past its TTL (in the database's time, as every claim reads it)."""
    async with db.write() as s:
        await s.execute(update(UploadFile).where(UploadFile.id == file_id).values(lease_expires=db_time(-1)))


@pytest.fixture
def skew(monkeypatch):
    """Call it to make this process's clock run two hours fast (a node with a broken NTP)."""

    class Fast(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(hours=2)

    return lambda: monkeypatch.setattr(db_types, "datetime", Fast)


# -- epochs and draws ---------------------------------------------------------------------------------


async def test_every_claim_bumps_the_epoch(db, file_id):
    epochs = []
    for _ in range(3):
        lease = Lease(db, file_id, ttl=30, renew_every=1)
        assert await lease.claim(0)
        epochs.append(lease.epoch)
        await lease.release()
    assert epochs == [epochs[0], epochs[0] + 1, epochs[0] + 2]


async def test_draws_are_unique_and_stop_once_the_lease_is_taken_over(db, file_id):
    old = Lease(db, file_id, ttl=30, renew_every=60)
    assert await old.claim(0)
    old_fence = LeaseFence(old, None)
    first = [await old_fence.draw() for _ in range(3)]
    await expire_lease(db, file_id)
    new = Lease(db, file_id, ttl=30, renew_every=60)
    assert await new.claim(0)
    assert new.epoch == old.epoch + 1
    new_fence = LeaseFence(new, None)
    after = [await new_fence.draw() for _ in range(2)]
    # The stale writer never noticed (its renewal is not due): it still cannot draw anything.
    assert not old.due
    with pytest.raises(LeaseLost):
        await old_fence.draw()
    assert first == sorted(first) and after[0] > first[-1] and len(set(first + after)) == 5


# -- the database's clock -----------------------------------------------------------------------------


async def test_a_lease_expires_by_the_databases_clock_not_the_process(db, file_id, skew):
    skew()
    lease = Lease(db, file_id, ttl=30, renew_every=1)
    assert await lease.claim(0)
    async with db.read() as s:
        expires, db_now = (await s.execute(
            select(UploadFile.lease_expires, db_time(0)).where(UploadFile.id == file_id))).one()
    assert timedelta(seconds=25) < expires - db_now <= timedelta(seconds=30)


async def test_a_fast_clock_does_not_take_over_a_live_lease(db, file_id, skew):
    holder = Lease(db, file_id, ttl=30, renew_every=1)
    assert await holder.claim(0)
    skew()  # another node, two hours ahead, would think the holder's 30 s long over
    assert not await Lease(db, file_id, ttl=30, renew_every=1).claim(0)
    await holder.keep()


async def test_upload_sessions_expire_by_the_databases_clock(db, tmp_path, skew):
    owner = await KeyService(db).ensure_owner(f"fence-{os.urandom(4).hex()}")
    core = UploadCore(db, LocalBlobStore(tmp_path / "blobs"), UploadLimits(ttl_seconds=3600))
    skew()
    info = await core.create_session(owner)
    async with db.read() as s:
        db_now = await s.scalar(select(db_time(0)))
    assert timedelta(minutes=59) < info.expires_at - db_now <= timedelta(hours=1)
    # A session the database says has expired is gone, whatever this process's clock says. (Sessions
    # other tests on this shared database left to expire go first, so the count below is this one.)
    await core.reap_expired()
    async with db.write() as s:
        await s.execute(update(UploadSession).where(UploadSession.id == info.id).values(expires_at=db_time(-1)))
    assert await core.reap_expired() == 1


# -- S3: a writer frozen mid-part ---------------------------------------------------------------------


LIMITS = UploadLimits(ttl_seconds=3600, max_file_bytes=1024**3, max_session_bytes=1024**3,
                      lease_ttl=0.5, lease_renew=60.0, lease_wait=10.0)


class Frozen:
    """Freezes the first UploadPart a store sends, after its number was chosen, until `thaw`."""

    def __init__(self) -> None:
        self.stuck = asyncio.Event()
        self.thaw = asyncio.Event()

    async def install(self, store: S3BlobStore) -> None:
        client = await store._s3()
        real = client.upload_part

        async def upload_part(**kw):
            if not self.stuck.is_set():
                self.stuck.set()
                await self.thaw.wait()
            return await real(**kw)

        client.upload_part = upload_part


async def pieces(data: bytes, piece: int = MiB):
    for i in range(0, len(data), piece):
        yield data[i : i + piece]


@pytest.fixture
async def two_nodes(db, moto):
    """Two upload cores on one database and one bucket, each with its own S3 client, like two API nodes."""
    url = moto.storage_url()
    a, b = S3BlobStore(url), S3BlobStore(url)
    yield UploadCore(db, a, LIMITS), UploadCore(db, b, LIMITS)
    await a.close()
    await b.close()


async def test_a_frozen_writers_late_part_never_reaches_the_object(db, two_nodes, file_id):
    node_a, node_b = two_nodes
    data = os.urandom(16 * MiB + 100)
    stale = bytes(len(data))  # what node A sends: anything of it in the object is corruption
    frozen = Frozen()
    await frozen.install(node_a.store)
    writer_a = asyncio.create_task(node_a.append(file_id, start=0, body=pieces(stale), total=len(data)))
    await frozen.stuck.wait()  # A has chosen its part number and is frozen sending it
    # B takes the file over once A's lease expired, and writes all but the last bytes.
    progress = await node_b.append(file_id, start=0, body=pieces(data[: 16 * MiB]), total=len(data))
    assert progress.received == 16 * MiB
    frozen.thaw.set()  # A wakes: its part lands, then it goes on as if nothing happened
    with pytest.raises(FileBusy):
        await writer_a
    progress = await node_b.append(file_id, start=16 * MiB, body=pieces(data[16 * MiB :]))
    assert progress.complete
    async with db.read() as s:
        key = await s.scalar(select(UploadFile.blob_key).where(UploadFile.id == file_id))
    stored = b"".join([block async for block in node_b.store.read(key)])
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(data).hexdigest()


async def test_a_blob_finalized_before_a_crash_is_checked_and_completed_by_the_next_write(db, two_nodes, file_id):
    node_a, node_b = two_nodes
    data = os.urandom(6 * MiB)
    assert (await node_a.append(file_id, start=0, body=pieces(data), total=len(data))).complete
    async with db.write() as s:  # as if node A died after finalizing, before recording `complete`
        await s.execute(update(UploadFile).where(UploadFile.id == file_id).values(complete=False))
    assert (await node_b.append(file_id, start=len(data), body=pieces(b""))).complete


# -- local disk: a writer frozen mid-body --------------------------------------------------------------


async def frozen_body(data: bytes, cut: int, thaw: asyncio.Event, stuck: asyncio.Event):
    """`data` up to `cut`, then frozen (the process stopped, its file still open), then the rest."""
    yield data[:cut]
    stuck.set()
    await thaw.wait()
    for i in range(cut, len(data), MiB):
        yield data[i : i + MiB]


async def test_a_frozen_writers_late_bytes_never_reach_the_local_blob(db, tmp_path, file_id):
    store = LocalBlobStore(tmp_path / "blobs")
    node_a, node_b = UploadCore(db, store, LIMITS), UploadCore(db, store, LIMITS)
    data = os.urandom(6 * MiB + 100)
    stale = bytes(len(data))
    stuck, thaw = asyncio.Event(), asyncio.Event()
    writer_a = asyncio.create_task(
        node_a.append(file_id, start=0, body=frozen_body(stale, MiB, thaw, stuck), total=len(data)))
    await stuck.wait()  # A wrote its first MiB (never acknowledged) and froze with the file open
    progress = await node_b.append(file_id, start=0, body=pieces(data[: 6 * MiB]), total=len(data))
    assert progress.received == 6 * MiB
    thaw.set()  # A wakes and writes its next 5 MiB and more, its renewal not yet due
    with pytest.raises(FileBusy):
        await writer_a
    assert (await node_b.append(file_id, start=6 * MiB, body=pieces(data[6 * MiB :]))).complete
    async with db.read() as s:
        key = await s.scalar(select(UploadFile.blob_key).where(UploadFile.id == file_id))
    stored = b"".join([block async for block in store.read(key)])
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(data).hexdigest()
    assert [p.name for p in (store.root / key).parent.iterdir()] == [key.rsplit("/", 1)[1]]  # segments gone


# -- S3: finalize checks what it made -----------------------------------------------------------------


class RecordOnly:
    """A fence with nothing behind it: the store's record and draws, for store-level tests."""

    def __init__(self, state: str | None = None) -> None:
        self.epoch, self.state, self.seq = 1, state, 0

    async def draw(self) -> int:
        self.seq += 1
        return self.seq


async def test_finalize_refuses_an_object_whose_size_is_not_the_databases(moto):
    store = S3BlobStore(moto.storage_url())
    try:
        data = os.urandom(6 * MiB)
        fence = RecordOnly()
        assert await store.write("u/s/f", 0, pieces(data), fence=fence) == len(data)
        ledger = S3Ledger.load(fence.state)
        # The record and the object disagree: the record's part sizes claim 1 MiB more.
        ledger.parts = [PartInfo(p.number, p.size + MiB, p.etag) for p in ledger.parts]
        with pytest.raises(BlobMismatch):
            await store.finalize("u/s/f", len(data) + MiB, fence=RecordOnly(ledger.dump()))
        # An object someone else left at the key is checked the same way.
        client = moto.client()
        client.put_object(Bucket=store.bucket, Key="u/s/g", Body=b"x" * 10)
        with pytest.raises(BlobMismatch):
            await store.finalize("u/s/g", 11, fence=RecordOnly())
    finally:
        await store.close()

"""Direct video groups in the core: the 5-day expiry reaper deletes partial files, and only those."""

import os
from datetime import timedelta

import pytest
from sqlalchemy import update

from omnidrop.auth.keys import KeyService
from omnidrop.db.clock import db_now, db_time
from omnidrop.db.engine import Database
from omnidrop.db.migrate import upgrade_async
from omnidrop.db.models import VideoUploadGroup
from omnidrop.db.types import utcnow
from omnidrop.storage.local import LocalBlobStore
from omnidrop.storage.local_parts import LocalMultipart
from omnidrop.uploads.parts import PartsCore
from omnidrop.videos.service import FileSpec, GroupExpired, VideoUploads
from tests.support.clock import skew_process_clock


def video_uploads(db: Database, root) -> VideoUploads:
    store = LocalBlobStore(root, fsync=False)
    return VideoUploads(db, store, PartsCore(db, LocalMultipart(store.root, fsync=False)), dispatch=no_jobs)


async def no_jobs(job_id: str) -> None:
    raise AssertionError(f"expiring groups sent job {job_id}")


@pytest.fixture
async def videos(db, tmp_path):
    return video_uploads(db, tmp_path / "blobs")


@pytest.fixture
async def own_db(empty_db_url):
    """A database of this test's alone: the reaper sweeps every owner's groups, and live tests leave
    expired groups in the shared ones (stored where this test's store is not)."""
    await upgrade_async(empty_db_url)
    database = Database(empty_db_url)
    yield database
    await database.dispose()


async def body(data: bytes):
    yield data


async def test_reaper_expires_old_groups_and_deletes_their_parts(own_db, tmp_path):
    db = own_db
    videos = video_uploads(db, tmp_path / "blobs")
    owner = await KeyService(db).ensure_owner(f"o-{os.urandom(4).hex()}")
    old = await videos.create(owner, "old", "Mono", [FileSpec("video", "a.mp4", 3)])
    fresh = await videos.create(owner, "new", "Mono", [FileSpec("video", "b.mp4", 3)])
    for view in (old, fresh):
        await videos.parts.receive_part(view.files[0].multipart_id, 1, body(b"abc"))
    upload = await videos.parts.get(old.files[0].multipart_id)
    part_dir = videos.parts.store.root / ".multipart" / upload.store_upload_id
    assert part_dir.is_dir()

    assert timedelta(days=4, hours=23) < old.group.expires_at - old.group.created_at <= timedelta(days=5)
    assert await videos.reap_expired(now=utcnow() + timedelta(days=4)) == 0
    async with db.write() as s:  # the old group was created five days ago
        await s.execute(update(VideoUploadGroup).where(VideoUploadGroup.id == old.group.id)
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert await videos.reap_expired() == 1
    assert not part_dir.exists()
    assert (await videos.view(owner, old.group.id)).group.state == "expired"
    assert (await videos.view(owner, fresh.group.id)).group.state == "uploading"
    fresh_upload = await videos.parts.get(fresh.files[0].multipart_id)
    assert await videos.parts.list_parts(fresh_upload) != []
    with pytest.raises(GroupExpired):
        await videos.part_urls(owner, old.group.id, old.files[0].id, None, lambda u, n: "x")
    assert await videos.reap_expired() == 0  # done once


async def test_a_group_that_cannot_be_expired_now_does_not_keep_the_others(own_db, tmp_path, monkeypatch):
    videos = video_uploads(own_db, tmp_path / "blobs")
    owner = await KeyService(own_db).ensure_owner(f"o-{os.urandom(4).hex()}")
    stuck = await videos.create(owner, "stuck", "Mono", [FileSpec("video", "stuck.mp4", 3)])
    other = await videos.create(owner, "other", "Mono", [FileSpec("video", "other.mp4", 3)])
    async with own_db.write() as s:
        await s.execute(update(VideoUploadGroup).where(VideoUploadGroup.id.in_([stuck.group.id, other.group.id]))
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    close = videos._close

    async def failing_for_stuck(view, state):
        if view.group.id == stuck.group.id:
            raise OSError("store unreachable")
        await close(view, state)

    monkeypatch.setattr(videos, "_close", failing_for_stuck)
    assert await videos.reap_expired() == 1
    assert (await videos.view(owner, other.group.id)).group.state == "expired"
    assert (await videos.view(owner, stuck.group.id)).group.state == "uploading"
    monkeypatch.setattr(videos, "_close", close)
    assert await videos.reap_expired() == 1  # the next reap finishes it
    assert (await videos.view(owner, stuck.group.id)).group.state == "expired"


@pytest.mark.parametrize("days", [-6, 6])
async def test_a_skewed_process_clock_neither_expires_a_group_early_nor_keeps_it_alive(own_db, tmp_path,
                                                                                      monkeypatch, days):
    """The 5 days run on the database's clock: a node whose clock is 6 days off decides as any other."""
    videos = video_uploads(own_db, tmp_path / "blobs")
    owner = await KeyService(own_db).ensure_owner(f"o-{os.urandom(4).hex()}")
    skew_process_clock(monkeypatch, timedelta(days=days))
    view = await videos.create(owner, "skewed", "Mono", [FileSpec("video", "a.mp4", 3)])
    async with own_db.read() as s:
        now = await db_now(s)
    assert now + timedelta(days=4, hours=23) < view.group.expires_at <= now + timedelta(days=5, minutes=1)
    # Not early: its 5 days have not passed, whatever this node's clock says.
    assert await videos.reap_expired() == 0
    file, urls = await videos.part_urls(owner, view.group.id, view.files[0].id, None, lambda u, n: "url")
    assert urls == [(1, "url")]
    # Not forever: once they have passed by the database's clock, it is expired and reaped.
    async with own_db.write() as s:
        await s.execute(update(VideoUploadGroup).where(VideoUploadGroup.id == view.group.id)
                        .values(expires_at=db_time(-1)))
    with pytest.raises(GroupExpired):
        await videos.part_urls(owner, view.group.id, view.files[0].id, None, lambda u, n: "url")
    assert await videos.reap_expired() == 1
    assert (await videos.view(owner, view.group.id)).group.state == "expired"

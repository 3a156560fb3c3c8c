"""Direct video groups in the core: the 5-day expiry reaper deletes partial files, and only those."""

import os
from datetime import timedelta

import pytest
from sqlalchemy import update

from omnidrop.auth.keys import KeyService
from omnidrop.db.models import VideoUploadGroup
from omnidrop.db.types import utcnow
from omnidrop.storage.local import LocalBlobStore
from omnidrop.storage.local_parts import LocalMultipart
from omnidrop.uploads.parts import PartsCore
from omnidrop.videos.service import FileSpec, GroupExpired, VideoUploads


@pytest.fixture
async def videos(db, tmp_path):
    store = LocalBlobStore(tmp_path / "blobs", fsync=False)
    return VideoUploads(db, store, PartsCore(db, LocalMultipart(store.root, fsync=False)))


async def body(data: bytes):
    yield data


async def test_reaper_expires_old_groups_and_deletes_their_parts(videos, db):
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

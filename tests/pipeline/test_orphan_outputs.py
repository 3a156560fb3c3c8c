"""Derived outputs no subject owns are removed (issue 15), on local disk and on an S3 server: keys only a
dead attempt wrote, the frames of a video that failed for good, and the outputs of deleted subjects.
The outputs the final attempt wrote, and uploads lying beside outputs, stay."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from omnidrop.auth.keys import KeyService
from omnidrop.db.models import Vehicle, VehicleVideo
from omnidrop.db.types import utcnow
from omnidrop.jobs.runner import failed_for_good, reap_orphan_outputs
from omnidrop.pipeline import project_frames
from omnidrop.pipeline.blobs import put_bytes
from omnidrop.pipeline.handlers import BUILTIN_KINDS
from omnidrop.settings import Settings
from omnidrop.storage.local import LocalBlobStore
from omnidrop.storage.s3 import S3BlobStore
from omnidrop.vehicles.service import FRAMES_KIND
from tests.support import vehicles as v


@pytest.fixture(params=["local", "s3"])
async def store(request, tmp_path):
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
        return
    s3 = S3BlobStore(request.getfixturevalue("moto").storage_url())
    yield s3
    await s3.close()


async def keys(store, prefix: str) -> list[str]:
    return [b.key async for b in store.list(prefix)]


async def test_project_frames_drop_the_frames_only_a_dead_attempt_made(store, tmp_path):
    project = os.urandom(8).hex()
    prefix = f"projects/{project}/frames/tour.mp4"
    # An earlier attempt that died had read further (or ran at another frame rate).
    await put_bytes(store, f"{prefix}/frame_0099.jpg", b"stale")
    await put_bytes(store, f"{prefix}/frame_0001.jpg", b"stale, overwritten")
    neighbour = f"projects/{project}/frames/tour.mp4.orig/frame_0099.jpg"  # another file's: not below the prefix
    await put_bytes(store, neighbour, b"another file's frame")
    ctx = SimpleNamespace(settings=Settings(data_dir=tmp_path / "data"), services=SimpleNamespace(store=store))

    assets = await project_frames.frames(ctx, project, "tour.mp4", v.clip(tmp_path / "tour.mp4"), None)

    made = [f"{prefix}/frame_{i:04d}.jpg" for i in range(1, 11)]  # 2 s at 5 fps
    assert sorted(assets.values()) == made
    assert await keys(store, prefix) == made
    assert await store.size(f"{prefix}/frame_0001.jpg") > len(b"stale, overwritten")  # this attempt's JPEG
    assert await keys(store, f"projects/{project}/frames/tour.mp4.orig") == [neighbour]


async def add_video(db, state: str = "processing") -> tuple[str, str]:
    """A vehicle video row; returns (its id, where its outputs and upload lie)."""
    owner = await KeyService(db).ensure_owner(f"owner-{os.urandom(4).hex()}")
    vehicle_id, video_id = os.urandom(8).hex(), os.urandom(8).hex()
    prefix = f"vehicles/{vehicle_id}/OUTSIDE/{video_id}"
    async with db.write() as s:
        s.add(Vehicle(id=vehicle_id, owner_id=owner, uuid=vehicle_id, created_at=utcnow()))
        await s.flush()
        s.add(VehicleVideo(id=video_id, vehicle_id=vehicle_id, side="OUTSIDE", job_id=os.urandom(8).hex(),
                           blob_key=f"{prefix}/video.mp4", original_filename="v.mp4", size=1, mime_type="video/mp4",
                           state=state, frames_prefix=f"{prefix}/frames", created_at=utcnow()))
    return video_id, prefix


async def test_a_vehicle_video_that_failed_for_good_loses_its_frames_through_the_runner(db, store):
    video_id, prefix = await add_video(db)
    await put_bytes(store, f"{prefix}/video.mp4", b"video")
    await put_bytes(store, f"{prefix}/frames/frame_0001.jpg", b"jpeg")  # stored by an attempt that then died
    ctx = SimpleNamespace(job=SimpleNamespace(subject_id=video_id), services=SimpleNamespace(db=db, store=store))

    await failed_for_good(BUILTIN_KINDS[FRAMES_KIND], ctx, "processing_failed", "the decoder crashed")

    async with db.read() as s:
        assert (await s.get(VehicleVideo, video_id)).error_code == "processing_failed"
    assert await keys(store, f"{prefix}/frames") == []
    assert await keys(store, prefix) == [f"{prefix}/video.mp4"]  # the upload itself is not an output


async def test_the_reaper_removes_the_outputs_of_deleted_videos_only(db, store):
    live_id, live = await add_video(db, state="ready")
    gone = f"vehicles/{os.urandom(8).hex()}/OUTSIDE/{os.urandom(8).hex()}"  # its row was deleted
    for prefix in (live, gone):
        await put_bytes(store, f"{prefix}/video.mp4", b"video")
        await put_bytes(store, f"{prefix}/frames/frame_0001.jpg", b"jpeg")
        await put_bytes(store, f"{prefix}/masks/frame_0001.png", b"png")
    services = SimpleNamespace(db=db, store=store)

    assert await reap_orphan_outputs(services) >= 2  # the store may hold other tests' orphans too
    assert await keys(store, gone) == [f"{gone}/video.mp4"]  # an upload, not an output: never reaped here
    assert await keys(store, live) == [f"{live}/frames/frame_0001.jpg", f"{live}/masks/frame_0001.png",
                                       f"{live}/video.mp4"]

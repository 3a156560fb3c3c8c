"""A vehicle video whose frames job failed for good keeps no frames: the attempts' outputs are orphans
nothing would ever list or remove (issue 15: frames were left in S3 after the third failure)."""

from __future__ import annotations

import os
from types import SimpleNamespace

from omnidrop.auth.keys import KeyService
from omnidrop.db.models import Vehicle, VehicleVideo
from omnidrop.db.types import utcnow
from omnidrop.pipeline import vehicle_frames
from omnidrop.pipeline.blobs import put_bytes
from omnidrop.storage.local import LocalBlobStore


async def test_a_failed_video_keeps_its_error_and_loses_the_frames_its_attempts_stored(db, tmp_path):
    store = LocalBlobStore(tmp_path / "blobs")
    owner = await KeyService(db).ensure_owner(f"owner-{os.urandom(4).hex()}")
    vehicle_id, video_id = os.urandom(8).hex(), os.urandom(8).hex()
    prefix = f"vehicles/{vehicle_id}/OUTSIDE/{video_id}"
    async with db.write() as s:
        s.add(Vehicle(id=vehicle_id, owner_id=owner, uuid=vehicle_id, created_at=utcnow()))
        await s.flush()
        s.add(VehicleVideo(id=video_id, vehicle_id=vehicle_id, side="OUTSIDE", job_id=os.urandom(8).hex(),
                           blob_key=f"{prefix}/video.mp4", original_filename="v.mp4", size=1, mime_type="video/mp4",
                           state="processing", frames_prefix=f"{prefix}/frames", created_at=utcnow()))
    await put_bytes(store, f"{prefix}/video.mp4", b"video")
    for name in ("frame_0001.jpg", "frame_0002.jpg"):  # stored by an attempt that then died
        await put_bytes(store, f"{prefix}/frames/{name}", b"jpeg")
    ctx = SimpleNamespace(job=SimpleNamespace(subject_id=video_id), services=SimpleNamespace(db=db, store=store))

    await vehicle_frames.failed(ctx, "processing_failed", "the decoder crashed")

    async with db.read() as s:
        video = await s.get(VehicleVideo, video_id)
    assert (video.state, video.error_code) == ("failed", "processing_failed")
    assert [b.key async for b in store.list(f"{prefix}/frames")] == []
    assert await store.size(f"{prefix}/video.mp4") == 5  # the upload itself is not an output

"""The capture.process job on both databases (run directly, no worker): a bulk-images zip and a video
become frames, thumbnails, a preview and a GIF; bad inputs, and frames that give no 3D model, fail with
their reason; a re-run gives the same outputs."""

import io
import os

import pytest
from PIL import Image
from sqlalchemy import select, update

from omnidrop.captures.service import PROCESS_KIND
from omnidrop.db.models import Capture, Job
from omnidrop.jobs.runner import run_job
from omnidrop.services import Services
from omnidrop.settings import Settings
from tests.pipeline.media.conftest import write_video
from tests.support.captures import EXPECTED_FRAMES, IMAGE_ENTRIES, images_zip, uploaded_capture


@pytest.fixture
async def services(db_url, tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=db_url, fsync=False, capture_gif_max_bytes=200_000)
    services = Services.open(settings)
    try:
        yield services
    finally:
        await services.close()


@pytest.fixture
def poses_found(monkeypatch):
    """For tests about frames, whose flat or synthetic pictures give no 3D model (which would FAIL the
    capture and drop its frames): the pose step answers a model of every frame instead of running SfM."""
    from omnidrop.pipeline import capture_processing

    async def poses(ctx, eid, frames_dir, frames, source, workdir):
        n = len(frames)
        return {"cameras": [], "video_trajectory": None, "reconstruction": {
            "state": "done", "registered": n, "total": n, "mean_reprojection_error": 0.5, "points": 0}}

    monkeypatch.setattr(capture_processing, "_poses", poses)


async def process(services, eid: str) -> Capture:
    async with services.db.read() as s:
        job_id = await s.scalar(select(Job.id).where(Job.kind == PROCESS_KIND, Job.subject_id == eid))
    await run_job(job_id, services.settings)
    async with services.db.read() as s:
        return await s.get(Capture, eid)


async def blob(services, key: str) -> bytes:
    return b"".join([chunk async for chunk in services.store.read(key)])


async def test_bulk_images_become_frames_thumbnails_preview_and_gif(services, poses_found):
    eid = await uploaded_capture(services.captures, images_zip())
    capture = await process(services, eid)
    assert (capture.state, capture.error_reason) == ("FINISHED", None)
    frames = capture.outputs["frames"]
    assert [(f["source"], (f["width"], f["height"])) for f in frames] == EXPECTED_FRAMES
    assert [f["name"] for f in frames] == ["frame_0001.jpg", "frame_0002.jpg", "frame_0003.jpg"]
    assert capture.outputs["input"]["skipped_count"] == 2  # notes.txt and fake.jpg (the macOS fork is junk)
    for f in frames:
        image = Image.open(io.BytesIO(await blob(services, f["key"])))
        assert image.format == "JPEG" and image.size == (f["width"], f["height"])
        thumb = Image.open(io.BytesIO(await blob(services, f["thumbnail_key"])))
        assert thumb.format == "JPEG" and max(thumb.size) <= services.settings.thumbnail_max_edge
    # The PNG was blue; the sideways JPEG was turned upright.
    assert Image.open(io.BytesIO(await blob(services, frames[0]["key"]))).getpixel((10, 10))[2] > 180
    preview = Image.open(io.BytesIO(await blob(services, capture.outputs["preview_key"])))
    assert preview.format == "JPEG" and preview.size == (64, 96)  # the middle frame
    gif_bytes = await blob(services, capture.outputs["gif_key"])
    gif = Image.open(io.BytesIO(gif_bytes))
    assert gif.format == "GIF" and gif.n_frames == 3 and len(gif_bytes) <= 200_000

    # Idempotent: the same job run again (as after a crash) rewrites exactly the same outputs.
    keys = sorted([b.key async for b in services.store.list(f"captures/{eid}")])
    first = {k: await blob(services, k) for k in keys}
    async with services.db.write() as s:
        await s.execute(update(Capture).where(Capture.eid == eid).values(state="PROCESSING"))
        await s.execute(update(Job).where(Job.subject_id == eid).values(state="queued"))
    again = await process(services, eid)
    assert again.state == "FINISHED" and again.outputs == capture.outputs
    assert {k: await blob(services, k) async for k in _keys(services, eid)} == first


async def _keys(services, eid):
    async for b in services.store.list(f"captures/{eid}"):
        yield b.key


@pytest.mark.parametrize("num_frames, expected", [(7, 7), (None, 10)])  # 2 s clip: 7 spaced, or 5 fps
async def test_video_capture_frames(services, tmp_path, num_frames, expected, poses_found):
    clip = write_video(tmp_path / "walk.mp4", size=(160, 120), frames=60)
    eid = await uploaded_capture(services.captures, clip.read_bytes(), input_data_format="video",
                                 num_frames=num_frames)
    capture = await process(services, eid)
    assert capture.state == "FINISHED", capture.state_description
    assert capture.outputs["frame_count"] == expected
    assert {(f["width"], f["height"]) for f in capture.outputs["frames"]} == {(160, 120)}
    assert capture.outputs["input"]["video"]["codec"] == "h264"
    gif = Image.open(io.BytesIO(await blob(services, capture.outputs["gif_key"])))
    assert gif.n_frames == expected and gif.size == (160, 120)


@pytest.mark.parametrize("fmt, data, slug", [
    ("bulk-images", b"PK\x03\x04 but then nothing a zip needs" * 10, "archive-corrupt"),
    ("bulk-images", b"plain bytes, no zip at all", "not-a-zip"),
    ("bulk-images", images_zip({"readme.txt": b"no pictures here", "a/b.csv": b"1,2"}), "no-images"),
    ("video", images_zip(), "unsupported-format"),  # a zip sent as a video capture
    ("video", b"\x00\x00\x00\x18ftypmp42" + bytes(40), "corrupt"),  # an MP4 header and nothing else
])
async def test_bad_inputs_fail_with_their_reason(services, fmt, data, slug):
    eid = await uploaded_capture(services.captures, data, input_data_format=fmt)
    capture = await process(services, eid)
    assert (capture.state, capture.error_reason, capture.error_reason_slug) == ("FAILED", "INVALID_INPUT", slug)
    assert capture.state_description
    assert [b.key async for b in services.store.list(f"captures/{eid}")] == [
        f"captures/{eid}/input.{'zip' if fmt == 'bulk-images' else 'mp4'}"]  # nothing half-made is left


@pytest.mark.parametrize("entries, slug", [
    (None, "featureless"),  # three flat colours: nothing to match
    ({"one.jpg": dict(IMAGE_ENTRIES)["scan/img2.jpg"]}, "too-few-frames"),  # a single view
])
async def test_frames_that_give_no_3d_model_fail_the_capture_with_their_slug(services, entries, slug):
    """No model from the frames: FAILED (not FINISHED without one, not a hang), INVALID_INPUT with the
    mapping's slug and a sentence saying why; like any capture that failed for good only its input is
    left, and no training job is queued."""
    from omnidrop.captures.service import TRAIN_KIND

    eid = await uploaded_capture(services.captures, images_zip(entries))
    capture = await process(services, eid)
    assert (capture.state, capture.error_reason, capture.error_reason_slug) == ("FAILED", "INVALID_INPUT", slug)
    assert capture.state_description.startswith("no 3D model could be made from the ")
    assert [b.key async for b in services.store.list(f"captures/{eid}")] == [f"captures/{eid}/input.zip"]
    async with services.db.read() as s:
        assert await s.scalar(select(Job.id).where(Job.kind == TRAIN_KIND, Job.subject_id == eid)) is None
        assert await s.scalar(select(Job.state).where(Job.kind == PROCESS_KIND, Job.subject_id == eid)) == "failed"


def flat_png(colour: tuple[int, int, int], edge: int = 1000) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (edge, edge), colour).save(out, "PNG")
    return out.getvalue()


async def quota_capture(services, data: bytes, quota: int) -> str:
    """A bulk-images capture of an owner of its own whose storage quota is `quota` bytes."""
    from omnidrop.auth.quotas import set_plan

    owner = f"capture-quota-{os.urandom(3).hex()}"
    await set_plan(services.db, owner, quota, None)
    return await uploaded_capture(services.captures, data, owner=owner)


async def assert_failed_on_the_quota(services, eid: str, quota: int, says: str) -> None:
    capture = await process(services, eid)
    assert (capture.state, capture.error_reason, capture.error_reason_slug) == (
        "FAILED", "STORAGE_QUOTA_EXCEEDED", "storage-quota-exceeded"), capture.state_description
    assert says in capture.state_description and f"storage quota of {quota} bytes" in capture.state_description
    # Nothing half-made stays: no frames, thumbnails or previews, only the uploaded input.
    assert [b.key async for b in services.store.list(f"captures/{eid}")] == [f"captures/{eid}/input.zip"]


async def test_unpacked_bytes_count_against_the_quota(services, poses_found):
    """A zip that unpacks past what the owner has left stops there, as a project's would."""
    noise = os.urandom(300_000)  # incompressible: the quota stops it, not the bomb ratio
    eid = await quota_capture(services, images_zip({**IMAGE_ENTRIES, "scan/noise.bin": noise}), 200_000)
    await assert_failed_on_the_quota(services, eid, 200_000, "zip unpacks past the storage quota")


async def test_frames_larger_than_the_unpacked_images_count_against_the_quota(services, poses_found):
    """Flat PNGs re-encode to larger JPEG frames: what is stored, not what was unpacked, is charged."""
    pngs = {f"scan/img{i}.png": flat_png((40 * i, 120, 200)) for i in range(1, 4)}
    unpacked = sum(len(p) for p in pngs.values())
    frames = 0
    for data in pngs.values():
        out = io.BytesIO()
        Image.open(io.BytesIO(data)).save(out, "JPEG", quality=services.settings.capture_frame_quality)
        frames += len(out.getvalue())
    quota = (unpacked + frames) // 2
    assert unpacked < quota < frames
    eid = await quota_capture(services, images_zip(pngs), quota)
    await assert_failed_on_the_quota(services, eid, quota, "frames would pass the storage quota")
    # With room for the frames, the same zip gives them.
    eid = await quota_capture(services, images_zip(pngs), frames + 10_000)
    assert (await process(services, eid)).state == "FINISHED"


async def test_default_format_goes_by_content(services, poses_found):
    eid = await uploaded_capture(services.captures, images_zip(), input_data_format="commonformat-ios")
    capture = await process(services, eid)
    assert capture.state == "FINISHED" and capture.outputs["input"]["format"] == "bulk-images"


async def test_deleting_a_capture_stops_its_job_and_leaves_nothing(services):
    eid = await uploaded_capture(services.captures, images_zip())
    async with services.db.read() as s:
        owner_id = (await s.get(Capture, eid)).owner_id
    await services.captures.delete(owner_id, eid)
    async with services.db.read() as s:
        assert await s.scalar(select(Job.id).where(Job.subject_id == eid)) is None
    assert [b.key async for b in services.store.list(f"captures/{eid}")] == []


@pytest.fixture
def pg_url(databases) -> str:
    return databases("postgresql")  # migrated here, outside the event loop


@pytest.fixture
async def pg_services(pg_url, tmp_path):
    """On PostgreSQL only (the cluster's database): SfM twice is the slow part, the SQL is the same."""
    settings = Settings(data_dir=tmp_path, database_url=pg_url, fsync=False)
    services = Services.open(settings)
    try:
        yield services
    finally:
        await services.close()


async def test_a_posed_capture_finishes_with_its_model_and_its_splat_waits_for_a_gpu_worker(pg_services):
    """The photo set of a rendered orbit: camera poses, the COLMAP export and sparse.ply are stored, the
    capture FINISHES saying the splat waits, and its training job sits queued on the gpu queue (the
    default queue, which CPU workers consume, never gets it). A re-run changes nothing of that."""
    import numpy as np
    import pycolmap

    from omnidrop.captures.service import GPU_QUEUE, TRAIN_KIND
    from omnidrop.jobs.queue import pending_job_ids
    from tests.support.scene3d import centre_error, shared_orbit, views_zip

    services = pg_services
    views = shared_orbit()
    eid = await uploaded_capture(services.captures, views_zip(views))
    capture = await process(services, eid)
    assert capture.state == "FINISHED" and capture.error_reason_slug is None
    assert "waits for a GPU worker" in capture.state_description
    recon = capture.outputs["reconstruction"]
    assert recon["state"] == "done" and recon["registered"] >= 0.9 * len(views) == 0.9 * recon["total"]
    cameras = capture.outputs["cameras"]
    assert len(cameras) == recon["registered"] and all(len(m) == 16 for m in cameras)
    assert capture.outputs["video_trajectory"] is None  # a photo set has no frame rate
    # Rendered views carry no GPS: the model is not placed on the Earth, and says why.
    assert "geo" not in recon and recon["geo_reason"] == "the frames carry no GPS positions"
    assert not any("gps" in f for f in capture.outputs["frames"])
    # Frame names follow the zip's order: view_001 ... became frame_0001 ...
    centres = {f"view_{int(f['name'][6:10]):03d}.jpg": np.array(m).reshape(4, 4)[:3, 3]
               for f, m in zip(recon["frames"], cameras)}
    error, extent = centre_error(centres, views)
    assert error < 0.02 * extent

    keys = sorted([b.key async for b in services.store.list(f"captures/{eid}/sparse")])
    assert keys == sorted(recon["keys"].values())
    folder = services.settings.data_dir / "sparse-check"
    folder.mkdir()
    for name in ("cameras.txt", "images.txt", "points3D.txt"):
        (folder / name).write_bytes(await blob(services, recon["keys"][name]))
    assert pycolmap.Reconstruction(folder).num_reg_images() == recon["registered"]

    async with services.db.read() as s:
        job = (await s.execute(select(Job).where(Job.kind == TRAIN_KIND, Job.subject_id == eid))).scalar_one()
    assert (job.queue, job.state, job.attempts) == (GPU_QUEUE, "queued", 0)
    assert job.id in pending_job_ids(GPU_QUEUE) and job.id not in pending_job_ids("default")

    # Re-run (as after a crash before the job row said done): same poses, same keys, still one training job.
    async with services.db.write() as s:
        await s.execute(update(Capture).where(Capture.eid == eid).values(state="PROCESSING"))
        await s.execute(update(Job).where(Job.subject_id == eid, Job.kind == PROCESS_KIND).values(state="queued"))
    again = await process(services, eid)
    assert again.state == "FINISHED" and again.outputs["reconstruction"]["registered"] == recon["registered"]
    assert sorted([b.key async for b in services.store.list(f"captures/{eid}/sparse")]) == keys
    async with services.db.read() as s:
        jobs = (await s.execute(select(Job).where(Job.kind == TRAIN_KIND, Job.subject_id == eid))).scalars().all()
    assert [(j.id, j.state) for j in jobs] == [(job.id, "queued")]


async def test_a_walk_around_video_is_matched_in_sequence_and_gets_a_trajectory(pg_services, tmp_path):
    """The same orbit as an MP4 (5 fps, so every rendered view is a frame): sequential matching, every
    frame posed where it was, and a `video_trajectory` at the frames' rate."""
    import numpy as np

    from tests.support.scene3d import centre_error, shared_orbit

    views = shared_orbit()
    clip = write_video(tmp_path / "orbit.mp4", size=views[0].image.size, rate=5, frames=len(views),
                       image=lambda i: views[i].image)
    eid = await uploaded_capture(pg_services.captures, clip.read_bytes(), input_data_format="video")
    capture = await process(pg_services, eid)
    assert capture.state == "FINISHED", capture.state_description
    recon = capture.outputs["reconstruction"]
    assert recon["matcher"] == "sequential" and recon["registered"] >= 0.9 * len(views) == 0.9 * recon["total"]
    trajectory = capture.outputs["video_trajectory"]
    assert trajectory["fps"] == 5.0 and [k["matrix"] for k in trajectory["keyframes"]] == capture.outputs["cameras"]
    centres = {views[int(f["name"][6:10]) - 1].name: np.array(m).reshape(4, 4)[:3, 3]
               for f, m in zip(recon["frames"], capture.outputs["cameras"])}
    error, extent = centre_error(centres, views)
    assert error < 0.02 * extent

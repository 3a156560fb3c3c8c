"""The walkthrough.points job run in-process on both databases: panoramas, placement, GPS, failures,
and a re-run that gives the same result."""

from __future__ import annotations

import io
import uuid
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select, update

from omnidrop.db.models import Drawing, Job, Owner, WalkthroughPoint, WalkthroughProject, WalkthroughUpload, \
    WalkthroughVideo
from omnidrop.db.types import utcnow
from omnidrop.jobs.runner import run_job
from omnidrop.jobs.store import add_job
from omnidrop.pipeline.blobs import put_file
from omnidrop.pipeline.walkthrough_points import panorama_prefix
from omnidrop.services import Services
from omnidrop.settings import Settings
from omnidrop.walkthrough.service import PROCESS_KIND
from tests.pipeline.media.conftest import read_index
from tests.support import walkthroughs as w

START, END = (53.3400, -6.2700), (53.3500, -6.2500)  # the drawing's south-west and north-east corners
BOUNDS = {"north": 53.35, "south": 53.34, "east": -6.25, "west": -6.27}


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, job_max_attempts=1)


@pytest.fixture
async def services(settings):
    s = Services.open(settings)
    yield s
    await s.close()


async def walk(services: Services, videos: list[Path], points: int) -> tuple[int, str]:
    """An upload object with these videos linked (as step 5 leaves it) and its queued job."""
    db, tag = services.db, uuid.uuid4().hex[:10]
    async with db.write() as s:
        s.add(Owner(id=tag, name=f"owner-{tag}", created_at=utcnow()))
        s.add(WalkthroughProject(id=f"p-{tag}", owner_id=tag, name="site", created_at=utcnow()))
        await s.flush()
        drawing = Drawing(project_id=f"p-{tag}", name="L1", created_at=utcnow(), **BOUNDS)
        s.add(drawing)
        await s.flush()
        row = WalkthroughUpload(owner_id=tag, project_id=f"p-{tag}", floor_id=drawing.id, name="walk",
                                date=date(2026, 1, 20), processing_status="queued", uploaded_by="a@b.c",
                                is_timelapse=False, asset_type="video", start_lat=START[0], start_lng=START[1],
                                end_lat=END[0], end_lng=END[1], target_points_count=points,
                                inserted_at=utcnow(), updated_at=utcnow())
        s.add(row)
        await s.flush()
        for n, video in enumerate(videos):
            key = f"test/{tag}/{n}"
            await put_file(services.store, key, video)
            s.add(WalkthroughVideo(upload_id=row.id, resumable_id=f"{tag}{n}", url=f"http://h/files/{tag}{n}",
                                   title=video.name, file_extension="insv", size=video.stat().st_size,
                                   blob_key=key, created_at=utcnow()))
        row.job_id = await add_job(s, PROCESS_KIND, f"{row.id}:{tag}", 1)
        return row.id, row.job_id


async def outcome(services: Services, upload_id: int) -> tuple[WalkthroughUpload, list[WalkthroughPoint]]:
    async with services.db.read() as s:
        row = await s.get(WalkthroughUpload, upload_id)
        points = list(await s.scalars(select(WalkthroughPoint).where(WalkthroughPoint.upload_id == upload_id)
                                      .order_by(WalkthroughPoint.index)))
        return row, points


async def panorama(services: Services, point: WalkthroughPoint) -> Image.Image:
    data = b"".join([chunk async for chunk in services.store.read(point.blob_key)])
    return Image.open(io.BytesIO(data))


async def test_dual_fisheye_walk_gives_evenly_spaced_interpolated_points(services, settings, tmp_path):
    video = w.dual_fisheye(tmp_path / "VID_20260120_123130_00_001.insv", seconds=2.0)
    upload_id, job_id = await walk(services, [video], points=5)
    await run_job(job_id, settings)
    row, points = await outcome(services, upload_id)
    assert (row.processing_status, row.processing_error) == ("done", None)
    assert [p.index for p in points] == [0, 1, 2, 3, 4]
    # From the first frame (0 s) to the last (1.9 s), evenly.
    assert [p.time_seconds for p in points] == pytest.approx([0.0, 0.475, 0.95, 1.425, 1.9])
    assert [p.source for p in points] == ["interpolated"] * 5
    assert (points[0].lat, points[0].lng) == START and (points[-1].lat, points[-1].lng) == END
    for i, p in enumerate(points):
        assert p.lat == pytest.approx(START[0] + (END[0] - START[0]) * i / 4, abs=1e-12)
        assert p.lng == pytest.approx(START[1] + (END[1] - START[1]) * i / 4, abs=1e-12)
        # The walk runs from the drawing's south-west corner (0, 1) to its north-east corner (1, 0).
        assert (p.x, p.y) == pytest.approx((i / 4, 1 - i / 4), abs=1e-9)
        assert (p.width, p.height) == (256, 128)
        image = await panorama(services, p)
        assert image.size == (256, 128) and image.format == "JPEG"
    assert sorted([b.key async for b in services.store.list(panorama_prefix(upload_id))]) == \
        [f"{panorama_prefix(upload_id)}/frame_{i:04d}.jpg" for i in range(1, 6)]
    async with services.db.read() as s:
        job = await s.get(Job, job_id)
    assert (job.state, job.progress) == ("done", 1.0)


async def test_a_rerun_gives_identical_points_and_bytes(services, settings, tmp_path):
    """As if the worker died after storing the result but before the job was marked done."""
    video = w.dual_fisheye(tmp_path / "walk.insv", seconds=1.0)
    upload_id, job_id = await walk(services, [video], points=3)
    await run_job(job_id, settings)

    async def snapshot():
        _, points = await outcome(services, upload_id)
        rows = [(p.index, p.time_seconds, p.lat, p.lng, p.x, p.y, p.source, p.blob_key, p.width, p.height)
                for p in points]
        return rows, [(await panorama(services, p)).tobytes() for p in points], \
            [b"".join([c async for c in services.store.read(p.blob_key)]) for p in points]

    first = await snapshot()
    async with services.db.write() as s:
        await s.execute(update(Job).where(Job.id == job_id).values(state="queued"))
        await s.execute(update(WalkthroughUpload).where(WalkthroughUpload.id == upload_id)
                        .values(processing_status="processing"))
    await run_job(job_id, settings)
    assert (await outcome(services, upload_id))[0].processing_status == "done"
    assert await snapshot() == first


async def test_a_lens_pair_and_its_proxy(services, settings, tmp_path):
    first, second = w.lens_pair(tmp_path)
    proxy = w.lens(tmp_path / "LRV_20260120_123130_11_001.insv", (0, 255, 0))
    upload_id, job_id = await walk(services, [second, proxy, first], points=2)  # any order
    await run_job(job_id, settings)
    row, points = await outcome(services, upload_id)
    assert row.processing_status == "done", row.processing_error
    image = (await panorama(services, points[0])).convert("RGB")
    assert image.size == (256, 128)
    # _00_ (red) in the outer quarters, _10_ (blue) in the middle; the proxy (green) nowhere.
    left, middle = image.getpixel((10, 64)), image.getpixel((128, 64))
    assert left[0] > 150 > left[2] and middle[2] > 150 > middle[0] and max(left[1], middle[1]) < 100


async def test_equirectangular_video_is_not_converted_and_points_show_their_frames(services, settings, tmp_path):
    video = w.equirect(tmp_path / "tour.mp4", seconds=3.0)
    upload_id, job_id = await walk(services, [video], points=4)
    await run_job(job_id, settings)
    _, points = await outcome(services, upload_id)
    assert [p.time_seconds for p in points] == pytest.approx([0.0, 0.9667, 1.9333, 2.9], abs=1e-3)
    assert [read_index(await panorama(services, p)) for p in points] == [0, 10, 19, 29]
    assert {(p.width, p.height) for p in points} == {(128, 64)}


async def test_zero_target_points_means_one_every_interval(services, settings, tmp_path):
    video = w.equirect(tmp_path / "tour.mp4", seconds=5.0)
    upload_id, job_id = await walk(services, [video], points=0)
    await run_job(job_id, settings)  # default interval 2 s: 5 s of video -> 3 points
    assert len((await outcome(services, upload_id))[1]) == 3


async def test_the_insta360_gps_track_places_the_points(services, settings, tmp_path):
    video = w.dual_fisheye(tmp_path / "walk.insv", seconds=2.0)
    t0 = 1_768_912_290.0
    w.with_gps_trailer(video, [(t0 + k * 0.5, 53.3420 + 0.001 * k, -6.2680 + 0.002 * k) for k in range(5)])
    upload_id, job_id = await walk(services, [video], points=3)  # at 0, 0.95 and 1.9 s
    await run_job(job_id, settings)
    _, points = await outcome(services, upload_id)
    assert [p.source for p in points] == ["gps"] * 3
    # 0.95 s is 90 % of the way from the fix at 0.5 s to the one at 1.0 s.
    assert [c for p in points for c in (p.lat, p.lng)] == pytest.approx(
        [53.3420, -6.2680, 53.3439, -6.2642, 53.3458, -6.2604], abs=1e-9)
    x, y = points[0].x, points[0].y
    assert (x, y) == pytest.approx(((-6.2680 + 6.27) / 0.02, (53.35 - 53.3420) / 0.01))


async def test_the_location_tag_places_the_first_point(services, settings, tmp_path):
    video = w.equirect(tmp_path / "tour.mp4", seconds=2.0, container_metadata={"location": "+53.3450-006.2600/"})
    upload_id, job_id = await walk(services, [video], points=3)
    await run_job(job_id, settings)
    _, points = await outcome(services, upload_id)
    assert [p.source for p in points] == ["gps", "interpolated", "interpolated"]
    assert (points[0].lat, points[0].lng) == (53.345, -6.26)
    assert (points[2].lat, points[2].lng) == END


@pytest.mark.parametrize("make,code", [
    (lambda d: [w.renamed_jpeg(d / "walk.insv")], "unsupported_format"),
    (lambda d: [w.write_video(d / "flat.mp4", size=(160, 120), rate=10, frames=10)], "not_360"),
    (lambda d: [w.dual_fisheye(d / "a.insv", seconds=1.0), w.dual_fisheye(d / "b.insv", seconds=1.0)],
     "unsupported_layout"),
])
async def test_bad_content_fails_with_a_reason(services, settings, tmp_path, make, code):
    upload_id, job_id = await walk(services, make(tmp_path), points=3)
    await run_job(job_id, settings)
    row, points = await outcome(services, upload_id)
    assert row.processing_status == "failed" and points == []
    assert row.processing_error.startswith(f"{code}: "), row.processing_error


async def test_a_superseded_job_stands_down(services, settings, tmp_path):
    video = w.dual_fisheye(tmp_path / "walk.insv", seconds=1.0)
    upload_id, job_id = await walk(services, [video], points=2)
    async with services.db.write() as s:
        await s.execute(update(WalkthroughUpload).where(WalkthroughUpload.id == upload_id).values(job_id="later"))
    await run_job(job_id, settings)
    row, points = await outcome(services, upload_id)
    assert (row.processing_status, points) == ("queued", [])

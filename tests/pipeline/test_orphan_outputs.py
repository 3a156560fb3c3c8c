"""Derived outputs no subject owns are removed (issue 15), on local disk and on an S3 server: keys only a
dead attempt wrote, the frames of a video that failed for good, and the outputs of deleted subjects.
The outputs the final attempt wrote, and uploads lying beside outputs, stay."""

from __future__ import annotations

import io
import os
from datetime import date
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import select

from omnidrop.auth.keys import KeyService
from omnidrop.captures.service import PROCESS_KIND as CAPTURE_KIND
from omnidrop.db.models import (
    Capture,
    Drawing,
    Job,
    Owner,
    Project,
    ProjectFile,
    Vehicle,
    VehicleVideo,
    WalkthroughProject,
    WalkthroughUpload,
    WalkthroughVideo,
)
from omnidrop.db.types import utcnow
from omnidrop.jobs.runner import failed_for_good, reap_orphan_outputs, run_job
from omnidrop.jobs.store import add_job
from omnidrop.pipeline import project_frames
from omnidrop.pipeline.blobs import put_bytes, put_file
from omnidrop.pipeline.handlers import BUILTIN_KINDS
from omnidrop.projects.service import PROCESS_KIND as PROJECT_KIND
from omnidrop.projects.service import NewProject
from omnidrop.services import Services
from omnidrop.settings import Settings
from omnidrop.storage.local import LocalBlobStore
from omnidrop.storage.s3 import S3BlobStore
from omnidrop.vehicles.service import FRAMES_KIND
from omnidrop.walkthrough.service import PROCESS_KIND as WALKTHROUGH_KIND
from tests.support import vehicles as v
from tests.support import walkthroughs as w
from tests.support.captures import uploaded_capture


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


# -- projects, captures and walkthroughs declare their outputs as vehicles do --------------------------


@pytest.fixture(params=["local", "s3"])
async def services(request, db_url, tmp_path):
    storage_url = request.getfixturevalue("moto").storage_url() if request.param == "s3" else None
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url, storage_url=storage_url, fsync=False,
                        job_max_attempts=1, allowed_extensions=["jpg", "zip"])
    opened = Services.open(settings)
    try:
        yield opened
    finally:
        await opened.close()


async def job_of(services, kind: str, subject_id: str) -> str:
    async with services.db.read() as s:
        return await s.scalar(select(Job.id).where(Job.kind == kind, Job.subject_id == subject_id))


async def project_of(services, files: dict[str, bytes]) -> Project:
    """A project over a finished upload session holding `files`, its processing job queued."""
    owner = await KeyService(services.db).ensure_owner(f"owner-{os.urandom(4).hex()}")
    core = services.uploads
    sid = (await core.create_session(owner)).id
    for name, data in files.items():
        await core.write(owner, sid, name, start=0, length=len(data), total=len(data), body=one(data))
    return await services.projects.create(owner, NewProject(upload_id=sid))


async def one(data: bytes):
    yield data


async def plant_dead_attempt(services, project_id: str) -> None:
    """What an attempt killed midway left: a file (with its row) and derived outputs no later run makes."""
    prefix = f"projects/{project_id}"
    for key in (f"{prefix}/files/zz.jpg", f"{prefix}/thumbs/zz.jpg.jpg", f"{prefix}/frames/zz.mp4/frame_0001.jpg"):
        await put_bytes(services.store, key, b"a dead attempt's output")
    async with services.db.write() as s:
        s.add(ProjectFile(project_id=project_id, name="zz.jpg", origin="x.zip:zz.jpg", blob_key=f"{prefix}/files/zz.jpg",
                          size=1, sha256="0" * 64, kind="image", mime="image/jpeg", details={}, assets={},
                          created_at=utcnow()))


async def project_files(services, project_id: str) -> list[str]:
    async with services.db.read() as s:
        return sorted(await s.scalars(select(ProjectFile.name).where(ProjectFile.project_id == project_id)))


async def test_a_project_that_fails_for_good_after_a_killed_attempt_keeps_no_outputs(services):
    project = await project_of(services, {"broken.zip": b"PK\x03\x04 and then nothing a zip needs" * 10})
    await plant_dead_attempt(services, project.id)
    await run_job(await job_of(services, PROJECT_KIND, project.id), services.settings)
    async with services.db.read() as s:
        assert (await s.get(Project, project.id)).state == "failed"
    assert await keys(services.store, f"projects/{project.id}") == []
    assert await project_files(services, project.id) == []


async def test_a_project_rerun_leaves_exactly_one_set_of_outputs(services):
    project = await project_of(services, {"a.jpg": jpeg()})
    await plant_dead_attempt(services, project.id)
    await run_job(await job_of(services, PROJECT_KIND, project.id), services.settings)
    async with services.db.read() as s:
        assert (await s.get(Project, project.id)).state == "ready"
    assert await keys(services.store, f"projects/{project.id}") == [f"projects/{project.id}/thumbs/a.jpg.jpg"]
    assert await project_files(services, project.id) == ["a.jpg"]


async def test_a_capture_that_fails_for_good_after_a_killed_attempt_keeps_only_its_input(services):
    if isinstance(services.store, S3BlobStore):
        pytest.skip("capture parts reach S3 through presigned URLs only (the projects' test covers S3)")
    eid = await uploaded_capture(services.captures, b"plain bytes, no zip at all")
    for key in ("frames/frame_0001.jpg", "thumbnails/frame_0001.jpg", "preview.jpg", "preview.gif"):
        await put_bytes(services.store, f"captures/{eid}/{key}", b"a dead attempt's output")
    await run_job(await job_of(services, CAPTURE_KIND, eid), services.settings)
    async with services.db.read() as s:
        assert (await s.get(Capture, eid)).state == "FAILED"
    assert await keys(services.store, f"captures/{eid}") == [f"captures/{eid}/input.zip"]


async def test_a_walkthrough_step_that_fails_for_good_keeps_no_panoramas(services, tmp_path):
    upload_id, job_id = await walkthrough_upload(services, tmp_path)
    prefix = f"walkthroughs/{upload_id}/panoramas"
    await put_bytes(services.store, f"{prefix}/frame_0001.jpg", b"a dead attempt's panorama")
    await run_job(job_id, services.settings)
    async with services.db.read() as s:
        assert (await s.get(WalkthroughUpload, upload_id)).processing_status == "failed"
    assert await keys(services.store, prefix) == []


async def walkthrough_upload(services, tmp_path) -> tuple[int, str]:
    """An upload object whose linked 'video' is a renamed JPEG (its job fails for good), job queued."""
    tag = os.urandom(5).hex()
    video = w.renamed_jpeg(tmp_path / "walk.insv")
    async with services.db.write() as s:
        s.add(Owner(id=tag, name=f"owner-{tag}", created_at=utcnow()))
        s.add(WalkthroughProject(id=f"p-{tag}", owner_id=tag, name="site", created_at=utcnow()))
        await s.flush()
        drawing = Drawing(project_id=f"p-{tag}", name="L1", created_at=utcnow(), north=1.0, south=0.0, east=1.0,
                          west=0.0)
        s.add(drawing)
        await s.flush()
        row = WalkthroughUpload(owner_id=tag, project_id=f"p-{tag}", floor_id=drawing.id, name="walk",
                                date=date(2026, 1, 20), processing_status="queued", uploaded_by="a@b.c",
                                is_timelapse=False, asset_type="video", start_lat=0.1, start_lng=0.1, end_lat=0.2,
                                end_lng=0.2, target_points_count=2, inserted_at=utcnow(), updated_at=utcnow())
        s.add(row)
        await s.flush()
        await put_file(services.store, f"test/{tag}/0", video)
        s.add(WalkthroughVideo(upload_id=row.id, resumable_id=f"{tag}0", url=f"http://h/files/{tag}0", title="walk",
                               file_extension="insv", size=video.stat().st_size, blob_key=f"test/{tag}/0",
                               created_at=utcnow()))
        row.job_id = await add_job(s, WALKTHROUGH_KIND, f"{row.id}:{tag}", 1)
        return row.id, row.job_id


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()

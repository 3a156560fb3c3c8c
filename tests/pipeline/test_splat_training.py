"""The capture.train job where no GPU is (this machine): it never pretends. A capture without poses fails
it for good, and says so; one with poses on a worker that cannot train is retried on the gpu queue (for a
worker that can), its capture untouched: FINISHED, no models, the splat still waiting. Training parameters
no worker could use fail it on any worker; the focus area's crop is planned only on a geo-registered model."""

import numpy as np
import pytest
from sqlalchemy import select, update

from omnidrop.captures.service import GPU_QUEUE, TRAIN_KIND
from omnidrop.db.models import Capture, Job
from omnidrop.jobs.queue import pending_job_ids
from omnidrop.jobs.runner import run_job
from omnidrop.jobs.store import add_job
from omnidrop.pipeline.blobs import put_bytes
from omnidrop.pipeline.splat_training import planned_crop
from omnidrop.pipeline.training.options import training_options
from omnidrop.services import Services
from omnidrop.settings import Settings
from omnidrop.worker import compose
from tests.support import cpu_trainer
from tests.support.captures import images_zip, uploaded_capture
from tests.support.cpu_trainer import points_splat, splat_renderer

POSED = {"reconstruction": {"state": "done", "registered": 3, "total": 3, "mean_reprojection_error": 0.4,
                            "points": 100, "frames": [], "keys": {}}, "cameras": []}


@pytest.fixture
def sqlite_url(databases) -> str:
    return databases("sqlite")  # migrated here, outside the event loop


@pytest.fixture
async def services(sqlite_url, tmp_path):
    compose()
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url, fsync=False, job_max_attempts=2)
    services = Services.open(settings)
    try:
        yield services
    finally:
        await services.close()


async def finished_capture(services, outputs: dict, training_parameters: dict | None = None) -> tuple[str, str]:
    eid = await uploaded_capture(services.captures, images_zip())
    async with services.db.write() as s:
        await s.execute(update(Capture).where(Capture.eid == eid).values(
            state="FINISHED", outputs=outputs, state_description="3 frames ready; the splat waits",
            training_parameters=training_parameters))
        job_id = await add_job(s, TRAIN_KIND, eid, 2, queue=GPU_QUEUE)
    return eid, job_id


async def read(services, eid: str, job_id: str) -> tuple[Capture, Job]:
    async with services.db.read() as s:
        return await s.get(Capture, eid), await s.get(Job, job_id)


async def test_a_capture_without_poses_fails_its_training_for_good(services):
    eid, job_id = await finished_capture(services, {"cameras": []})
    await run_job(job_id, services.settings)
    capture, job = await read(services, eid, job_id)
    assert job.state == "failed" and job.error.startswith("no_poses")
    assert capture.state == "FINISHED" and "splat training failed (no_poses)" in capture.state_description
    assert [b.key async for b in services.store.list(f"captures/{eid}/splat")] == []


async def test_a_worker_without_cuda_hands_the_job_back_to_the_gpu_queue(services):
    eid, job_id = await finished_capture(services, POSED)
    await run_job(job_id, services.settings)
    capture, job = await read(services, eid, job_id)
    assert (job.state, job.attempts, job.queue) == ("queued", 1, GPU_QUEUE)
    assert "cannot train splats" in job.error
    assert job_id in pending_job_ids(GPU_QUEUE) and job_id not in pending_job_ids("default")
    assert capture.state == "FINISHED" and capture.state_description == "3 frames ready; the splat waits"
    assert "models" not in capture.outputs
    async with services.db.read() as s:
        assert (await s.execute(select(Job.kind).where(Job.subject_id == eid, Job.queue == "default"))).all() \
            == [("capture.process",)]


GEO = {"origin": {"lat": 48.137, "lng": 11.575, "alt": 520.0}, "enu_from_model": np.eye(4).ravel().tolist(),
       "scale": 1.0, "rms_m": 0.01, "spread_m": 20.0, "frames": 3, "altitude": True}
AREA = {"min_lat": 48.1369, "min_lng": 11.5748, "max_lat": 48.1371, "max_lng": 11.5752, "buffer_meters": 5}


async def test_parameters_no_worker_can_use_fail_for_good_even_without_cuda(services):
    inverted = {"focus_area": {**AREA, "min_lat": 48.2}}
    eid, job_id = await finished_capture(services, POSED, {"focus_area": inverted["focus_area"]})
    await run_job(job_id, services.settings)
    capture, job = await read(services, eid, job_id)
    assert job.state == "failed" and job.error.startswith("invalid_training_parameters")
    assert "splat training failed (invalid_training_parameters)" in capture.state_description


async def test_a_geo_registered_capture_with_a_focus_area_still_waits_for_a_gpu_worker(services):
    recon = {**POSED["reconstruction"], "geo": GEO}
    eid, job_id = await finished_capture(services, {**POSED, "reconstruction": recon}, {"focus_area": AREA})
    await run_job(job_id, services.settings)
    capture, job = await read(services, eid, job_id)
    assert (job.state, job.queue) == ("queued", GPU_QUEUE) and "cannot train splats" in job.error
    assert "models" not in capture.outputs


def test_the_crop_is_planned_only_for_a_box_on_a_geo_registered_model():
    recon = {**POSED["reconstruction"], "geo": GEO}
    crop = planned_crop(recon, training_options({"focus_area": AREA}))
    # 0.0002° of latitude and 0.0004° of longitude around the origin, plus 5 m: about ±16 m by ±20 m.
    min_e, min_n, max_e, max_n = crop.bounds
    assert -21 < min_e < -19 and 19 < max_e < 21 and -17 < min_n < -15 and 15 < max_n < 17
    assert planned_crop(POSED["reconstruction"], training_options({"focus_area": AREA})) is None  # no geo
    assert planned_crop(recon, training_options(None)) is None  # no area
    assert planned_crop(recon, training_options({"focus_area": {"polylines": ["_p~iF~ps|U"]}})) is None


# -- a trained splat's turntable video, with the trainer faked on CPU ------------------------------------
# gsplat needs CUDA, so `train_splat` is replaced by a stand-in that writes what it writes (the PLY and SPZ of
# a small splat: the rendered scene's box as Gaussians) and calls the trainer's own turntable step, whose
# gsplat renderer is replaced by a numpy render of the Gaussians' centres. The job around it is the real one.

TRAINED = {"reconstruction": {**POSED["reconstruction"], "keys": {name: f"test/sparse/{name}" for name in
                                                                  ("cameras.txt", "images.txt", "points3D.txt")}},
           "cameras": []}


def box_splat():
    from tests.support.point_render import box_points

    return points_splat(*box_points(1500), scale=0.02)


def scene_views() -> list[dict]:
    from tests.support.scene3d import shared_orbit

    views = []
    for v in shared_orbit():
        w, h = v.image.size
        views.append({"name": v.name, "viewmat": np.linalg.inv(v.world_from_camera), "width": w, "height": h,
                      "K": np.array([[v.focal, 0, w / 2], [0, v.focal, h / 2], [0, 0, 1.0]])})
    return views


@pytest.fixture
def fake_gpu(monkeypatch):
    """A CPU 'GPU worker': returns the options the job handed the trainer, and lets a test break its renderer."""
    from omnidrop.pipeline import splat_training
    from omnidrop.pipeline.training import trainer
    from omnidrop.pipeline.training.writers import write_ply, write_spz

    seen: dict = {"renderer": None}

    def train_splat(model_dir, images_dir, out_dir, options, progress=None, crop=None):
        seen["options"] = options
        splat = box_splat()
        out_dir.mkdir(parents=True, exist_ok=True)
        write_ply(splat, out_dir / trainer.PLY)
        write_spz(splat, out_dir / trainer.SPZ)
        turntable, error = trainer.write_turntable_of(splat, scene_views(), splat.means, options, out_dir, "cpu")
        return {"psnr": 30.0, "held_out": [], "steps": options.steps, "gaussians": len(splat),
                "aabb": splat.aabb(), "seconds": 1.0, "focus": None, "turntable": turntable,
                "turntable_error": error}

    def write_sogs_sh0(ply, dest, command):
        dest.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip: splat-transform is tested elsewhere

    cpu_trainer.install(monkeypatch, train_splat)
    monkeypatch.setattr(trainer, "_splat_renderer",
                        lambda splat, sh_degree, device: seen["renderer"] or splat_renderer(splat, sh_degree, device))
    monkeypatch.setattr(splat_training, "_undistort", lambda sparse, frames, dest: None)
    monkeypatch.setattr(splat_training, "write_sogs_sh0", write_sogs_sh0)
    return seen


@pytest.fixture
async def gpu_services(sqlite_url, tmp_path):
    compose()
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url, fsync=False, job_max_attempts=2,
                        media_child_process=False, capture_splat_steps=10, capture_turntable_frames=16)
    services = Services.open(settings)
    try:
        for name, key in TRAINED["reconstruction"]["keys"].items():
            await put_bytes(services.store, key, f"# {name}\n".encode())
        yield services
    finally:
        await services.close()


def signed(key):  # the surface's signer, as a test sees it
    return None if key is None else f"signed:{key}"


async def stored(services, key: str) -> bytes:
    return b"".join([chunk async for chunk in services.store.read(key)])


async def test_a_trained_splat_gets_its_turntable_video_stored_and_served(gpu_services, fake_gpu, tmp_path):
    """The turntable the trainer rendered is stored beside the splat and recorded as `video_key`; the
    Captures API answers it as `video_url` (signed) and, while the capture is public, `share_video_url`,
    which opens without a key (ranges too) until the owner makes the capture private."""
    import av
    import httpx

    from omnidrop.app import create_app
    from omnidrop.surfaces.captures import output

    services = gpu_services
    eid, job_id = await finished_capture(services, TRAINED)
    await run_job(job_id, services.settings)
    capture, job = await read(services, eid, job_id)
    assert job.state == "done", job.error
    assert fake_gpu["options"].turntable_frames == 16  # the setting reaches the trainer
    key = f"captures/{eid}/splat/turntable.mp4"
    assert capture.outputs["video_key"] == key
    assert sorted([b.key async for b in services.store.list(f"captures/{eid}/splat")]) == sorted(
        [f"captures/{eid}/splat/{name}" for name in ("splat.ply", "splat.spz", "sogs-sh0.zip", "turntable.mp4")])
    assert not any("turntable" in note for note in capture.outputs["splat"]["notes"])
    assert "turntable" not in capture.outputs["splat"] and "turntable_error" not in capture.outputs["splat"]
    video = tmp_path / "turntable.mp4"
    video.write_bytes(await stored(services, key))
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert stream.average_rate == 30 and (stream.codec_context.width, stream.codec_context.height) == (256, 192)
    assert len(frames) == 16 and all(f.mean() > 5 for f in frames)

    base = "http://omnidrop.test/"
    answer = output(capture, sign=signed, base_url=base)
    assert answer.video_url == f"signed:{key}"
    assert answer.share_video_url == f"{base}share/{capture.sid}/video.mp4"

    app = create_app(services.settings)
    app.state.services = services
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as client:
        r = await client.get(answer.share_video_url)  # no key: the capture is public
        assert (r.status_code, r.headers["content-type"]) == (200, "video/mp4")
        assert r.content == video.read_bytes()
        part = await client.get(answer.share_video_url, headers={"Range": "bytes=0-99"})
        assert (part.status_code, part.content) == (206, video.read_bytes()[:100])
        assert (await client.get(f"{base}share/nosuch/video.mp4")).status_code == 404

        await services.captures.set_public(capture.owner_id, eid, False)
        async with services.db.read() as s:
            private = await s.get(Capture, eid)
        hidden = output(private, sign=signed, base_url=base)
        assert (hidden.video_url, hidden.share_video_url) == (f"signed:{key}", None)  # the owner still has it
        refused = await client.get(answer.share_video_url)
        assert (refused.status_code, refused.json()) == (404, {"detail": "Capture not found"})


async def test_a_turntable_that_cannot_be_rendered_leaves_the_splat_with_a_note(gpu_services, fake_gpu):
    """The renderer fails (as gsplat might, out of memory): the splat is still trained and recorded, with a
    note saying why it has no turntable; no video is stored or answered, not even an earlier run's."""
    services = gpu_services

    def broken(viewmat, K, width, height):
        raise RuntimeError("CUDA out of memory")

    fake_gpu["renderer"] = broken
    eid, job_id = await finished_capture(services, TRAINED)
    stale = f"captures/{eid}/splat/turntable.mp4"  # an earlier run's, recorded
    await put_bytes(services.store, stale, b"an earlier run's video")
    async with services.db.write() as s:
        await s.execute(update(Capture).where(Capture.eid == eid).values(outputs={**TRAINED, "video_key": stale}))
    await run_job(job_id, services.settings)
    capture, job = await read(services, eid, job_id)
    assert job.state == "done", job.error
    assert [m["profile"] for m in capture.outputs["models"]] == ["ply", "sogs-sh0"]
    assert "video_key" not in capture.outputs
    assert "turntable video not rendered: RuntimeError: CUDA out of memory" in capture.outputs["splat"]["notes"]
    assert "splat trained" in capture.state_description
    assert stale not in [b.key async for b in services.store.list(f"captures/{eid}/splat")]
    from omnidrop.surfaces.captures import output

    answer = output(capture, sign=signed, base_url="http://omnidrop.test/")
    assert (answer.video_url, answer.share_video_url) == (None, None)


async def test_no_turntable_is_rendered_when_the_settings_turn_it_off(gpu_services, fake_gpu):
    services = gpu_services
    services.settings.capture_turntable_frames = 0
    eid, job_id = await finished_capture(services, TRAINED)
    await run_job(job_id, services.settings)
    capture, job = await read(services, eid, job_id)
    assert job.state == "done" and "video_key" not in capture.outputs
    assert not any("turntable" in note for note in capture.outputs["splat"]["notes"])


async def test_a_training_that_fails_after_an_earlier_splat_forgets_it(gpu_services, fake_gpu):
    """An attempt recorded its splat and died before the job was marked done; the next attempt fails for
    good (here: bad parameters). No models, splat or turntable stay recorded: their files are removed, so
    nothing may still point at them (video_url would sign a missing file)."""
    services = gpu_services
    eid, job_id = await finished_capture(services, TRAINED)
    await run_job(job_id, services.settings)
    capture, _ = await read(services, eid, job_id)
    assert {"models", "splat", "video_key"} <= set(capture.outputs)
    async with services.db.write() as s:
        await s.execute(update(Capture).where(Capture.eid == eid).values(
            training_parameters={"focus_area": {"min_lat": 2, "min_lng": 0, "max_lat": 1, "max_lng": 1}}))
        await s.execute(update(Job).where(Job.id == job_id).values(state="queued", attempts=1))  # as if it died
    await run_job(job_id, services.settings)
    capture, job = await read(services, eid, job_id)
    assert job.state == "failed" and job.error.startswith("invalid_training_parameters")
    assert not {"models", "splat", "video_key"} & set(capture.outputs)
    assert capture.outputs["reconstruction"] == TRAINED["reconstruction"]  # the poses stay
    assert [b.key async for b in services.store.list(f"captures/{eid}/splat")] == []
    from omnidrop.surfaces.captures import output

    answer = output(capture, sign=signed, base_url="http://omnidrop.test/")
    assert (answer.video_url, answer.share_video_url) == (None, None)

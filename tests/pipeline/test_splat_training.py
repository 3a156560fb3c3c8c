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
from omnidrop.pipeline.splat_training import planned_crop
from omnidrop.pipeline.training.options import training_options
from omnidrop.services import Services
from omnidrop.settings import Settings
from omnidrop.worker import compose
from tests.support.captures import images_zip, uploaded_capture

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

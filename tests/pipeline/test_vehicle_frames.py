"""The vehicle.frames job under a real `omnidrop worker`: progress is recorded, and a worker killed
mid-extraction leaves a job the next worker re-runs to exactly the same frames."""

import asyncio
import hashlib
import signal
import time
import uuid

import httpx

from omnidrop.db.engine import Database
from omnidrop.db.models import Job
from omnidrop.pipeline.media.frames import extract_frames
from tests.support import vehicles as v


def _database(live) -> Database:
    return Database(live.env.get("OMNIDROP_DATABASE_URL") or f"sqlite+aiosqlite:///{live.data_dir / 'omnidrop.db'}")


async def _job(db: Database, job_id: str) -> Job:
    async with db.read() as s:
        return await s.get(Job, job_id, populate_existing=True)


def job_row(live, job_id: str) -> tuple[str, float, int]:
    async def read():
        db = _database(live)
        try:
            job = await _job(db, job_id)
            return job.state, job.progress, job.attempts
        finally:
            await db.dispose()

    return asyncio.run(read())


def progress_mid_extraction(live, job_id: str, timeout: float = 120) -> float:
    """Polls the job (one open database, every 10 ms) until it is running with at least 1 % progress
    (what the API's whole-percent `progress` shows as more than 0) and no frame stored yet, or is past
    that; the last progress seen."""
    async def poll() -> float:
        db = _database(live)
        try:
            deadline, progress = time.monotonic() + timeout, 0.0
            while time.monotonic() < deadline:
                job = await _job(db, job_id)
                progress = job.progress
                if job.state == "running" and 0.01 <= progress < 0.7:  # decoding (0..70 %), no frame stored yet
                    break
                if progress >= 0.7:  # decoded before we looked
                    break
                await asyncio.sleep(0.01)
            return progress
        finally:
            await db.dispose()

    return asyncio.run(poll())


def test_worker_killed_mid_extraction_is_rerun_to_the_same_frames(servers, tmp_path):
    # Every frame of a 60 s clip (1800): the job reports progress every 0.5 s at the earliest, and
    # 20 s of it decoded in 0.43 s here, before the first report.
    fps, seconds = 30, 60
    video = v.clip(tmp_path / "long.mp4", seconds=seconds, size=(640, 320))
    live = servers.start(data_dir=tmp_path / "kill", embedded_worker=False, job_lease_seconds=3,
                         vehicle_frames_fps=fps)
    headers = live.headers("vehicles:write", "vehicles:read")
    r = v.upload(live.url, headers, video, vehicle_uuid=str(uuid.uuid4()))
    assert r.status_code == 201, r.text
    job_id = r.json()["job_id"]

    first = servers.start_worker(live, worker_threads=1)
    progress = progress_mid_extraction(live, job_id)
    assert 0.01 <= progress < 0.7, f"never caught the job mid-extraction (progress {progress})"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    r = httpx.get(f"{live.url}/360/frames", params={"job_id": job_id, "side": "OUTSIDE"}, headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "FRAMES_NOT_READY"
    assert 0 < r.json()["error"]["progress"] < 70  # what the killed worker last recorded
    time.sleep(4)  # past the 3 s lease: the job is orphaned now

    servers.start_worker(live, worker_threads=1)  # sweeps on start and takes the job over
    frames = v.wait_frames(live.url, headers, job_id, timeout=180)
    assert frames.status_code == 200, frames.text
    assert job_row(live, job_id)[2] == 2  # attempts

    expected: dict[str, str] = {}
    extract_frames(video, lambda n, d: expected.__setitem__(n, hashlib.sha256(d).hexdigest()), fps=fps)
    stored = next((live.data_dir / "blobs" / "vehicles").rglob("frames"))
    got = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in stored.iterdir()}
    assert len(got) == frames.json()["total"] == fps * seconds
    assert got == expected
    live.stop()

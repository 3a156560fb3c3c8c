"""Real `omnidrop worker` processes: a worker killed mid-job, the queue on Redis, and a worker's own
metrics port."""

import io
import signal
import time
import uuid

import httpx
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from tests.support import projects
from tests.support.server import free_port


def photos(n: int) -> dict[str, bytes]:
    out = {}
    for i in range(n):
        buf = io.BytesIO()
        Image.effect_noise((1600, 800), 40 + i % 50).convert("RGB").save(buf, "JPEG", quality=90)
        out[f"IMG_{i:03d}.jpg"] = buf.getvalue()
    return out


def job_attempts(live, project_name: str) -> int:
    import asyncio

    from sqlalchemy import select

    from omnidrop.db.engine import Database
    from omnidrop.db.models import Job, Project

    async def read() -> int:
        db = Database(live.env["OMNIDROP_DATABASE_URL"])
        try:
            async with db.read() as s:
                pid = await s.scalar(select(Project.id).where(Project.name == project_name))
                return await s.scalar(select(Job.attempts).where(Job.subject_id == pid))
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_worker_killed_mid_job_is_rerun_to_the_same_result(servers, own_db_url, tmp_path):
    live = servers.start(database_url=own_db_url, data_dir=tmp_path / "kill", embedded_worker=False, job_lease_seconds=3)
    headers = live.headers()
    files = photos(80)
    sid = projects.upload(live.api, headers, files)
    assert projects.create(live.api, headers, upload_id=sid).status_code == 201

    first = servers.start_worker(live, worker_threads=1)
    deadline = time.monotonic() + 120
    status = 0
    while time.monotonic() < deadline:
        status = httpx.get(f"{live.api}/projects/{sid}", headers=headers).json()["status"]
        if 5 <= status < 90:
            break
        time.sleep(0.05)
    assert 5 <= status < 90, f"never caught the job mid-run (status {status})"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    time.sleep(4)  # past the 3 s lease: the job is orphaned now
    assert httpx.get(f"{live.api}/projects/{sid}", headers=headers).json()["status"] < 100

    servers.start_worker(live, worker_threads=1)  # sweeps on start and takes the job over
    record = projects.wait(live.api, headers, sid, timeout=180)
    logs = "".join(p.read_text(errors="replace")[-4000:] for p in sorted(live.data_dir.glob("worker-*.log")))
    summary = {k: record.get(k) for k in ("status", "state", "error", "message")}
    assert (record["status"], record["state"]) == (100, "ready"), f"{summary}\n{logs}"
    got = {f["name"]: (f["size"], f["sha256"], f["type"], sorted(f["assets"])) for f in record["files"]}
    import hashlib

    assert got == {n: (len(d), hashlib.sha256(d).hexdigest(), "image", ["thumbnail"]) for n, d in files.items()}
    assert job_attempts(live, sid) == 2
    live.stop()


def test_queue_on_redis_with_a_separate_worker_that_serves_its_metrics(servers, own_db_url, tmp_path):
    """The queue on Redis, consumed by a standalone `omnidrop worker --metrics-port`: the job runs in the
    worker process, and its duration is on the worker's own port."""
    queue = {"queue_url": "redis://127.0.0.1:6379/14", "queue_name": f"omnidrop-test-{uuid.uuid4().hex[:8]}"}
    live = servers.start(database_url=own_db_url, data_dir=tmp_path / "redis", embedded_worker=False, **queue)
    port = free_port()
    worker = servers.start_worker(live, cli_args=["--metrics-port", str(port)], **queue)
    headers = live.headers()
    sid = projects.upload(live.api, headers, photos(3))
    assert projects.create(live.api, headers, upload_id=sid).status_code == 201
    assert projects.wait(live.api, headers, sid)["status"] == 100
    assert not (live.data_dir / "queue.db").exists()  # nothing went through the embedded SQLite queue
    # The attempt is observed just after the job is marked done, so give it a moment.
    deadline = time.monotonic() + 10
    while True:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        samples = [s for family in text_string_to_metric_families(text) for s in family.samples
                   if s.name == "omnidrop_job_duration_seconds_count"
                   and s.labels == {"kind": "project.process", "outcome": "done"}]
        if samples or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [s.value for s in samples] == [1.0], text
    worker.send_signal(signal.SIGINT)
    assert worker.wait(timeout=30) == 0
    live.stop()

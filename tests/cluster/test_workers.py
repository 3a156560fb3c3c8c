"""A cluster under faults: PostgreSQL, a Redis queue and S3 (moto), two API processes and two
`omnidrop worker` processes, with processes SIGKILLed mid-work.

Each test waits for an outcome with a bound (polling), never for a duration: a slow machine only
makes them slower. The cluster is shared by the module; the tests run in order and each leaves the
cluster with two workers.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import redis

from omnidrop.db.engine import Database
from omnidrop.db.migrate import upgrade
from omnidrop.db.models import ClusterRound, Job
from omnidrop.pipeline.media.frames import extract_frames
from tests.conftest import _new_pg_database, _pg_admin, _pg_url
from tests.support import vehicles as v
from tests.support.hook_receiver import HookReceiver
from tests.support.resumable import create, metadata, patch, tus_client
from tests.support.server import LiveServer, ServerFactory

REDIS_URL = "redis://127.0.0.1:6379/0"
FPS, SECONDS = 30, 5  # 150 frames: storing them to S3 takes long enough to be caught mid-way


def wait_until(condition: Callable[[], object], what: str, bound: float = 120) -> object:
    """Poll `condition` until it returns something true; fail after `bound` seconds (a bound, not a timing)."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


class Hook:
    """The hook receiver: it refuses notifications (503) while `down`, accepts pre-create always."""

    def __init__(self) -> None:
        self.down = False
        self.receiver = HookReceiver(self.answer)

    def answer(self, event: dict) -> tuple[int, bytes]:
        if self.down and event["type"] != "pre-create":
            return 503, b"down"
        return 200, b"{}"


@dataclass
class Cluster:
    database_url: str
    bucket: str
    moto: object
    hook: Hook
    factory: ServerFactory
    apis: list[LiveServer] = field(default_factory=list)
    workers: list[subprocess.Popen] = field(default_factory=list)

    def query(self, fn):
        async def run():
            db = Database(self.database_url, pool_size=1)
            try:
                async with db.read() as s:
                    return await fn(s)
            finally:
                await db.dispose()

        return asyncio.run(run())

    def job(self, job_id: str) -> Job:
        return self.query(lambda s: s.get(Job, job_id))

    def round_holder(self, name: str) -> str | None:
        async def get(s):
            row = await s.get(ClusterRound, name)
            return row.holder if row else None

        return self.query(get)

    def worker_of(self, owner: str) -> subprocess.Popen:
        """The worker process whose id (host:pid:thread) is `owner`."""
        pid = int(owner.split(":")[1])
        return next(w for w in self.workers if w.pid == pid)

    def kill(self, proc: subprocess.Popen) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        self.workers.remove(proc)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, moto) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    name = _new_pg_database()
    database_url = _pg_url(name)
    upgrade(database_url)  # once, before any process starts (no migration races between them)
    queue = f"omnidrop-cluster-{uuid.uuid4().hex[:8]}"  # our own Redis keys; other suites share this Redis
    bucket = moto.new_bucket()
    hook = Hook()
    hook.receiver.__enter__()
    factory = ServerFactory(root)
    settings = dict(
        database_url=database_url, storage_url=moto.storage_url(bucket), queue_url=REDIS_URL, queue_name=queue,
        embedded_worker=False, job_lease_seconds=4, housekeeping_seconds=1, vehicle_frames_fps=FPS,
        hooks_url=hook.receiver.url, hooks_backoff_seconds=0.2, hooks_retries=50, fsync=False,
    )
    c = Cluster(database_url, bucket, moto, hook, factory)
    try:
        with ThreadPoolExecutor(2) as pool:  # both API processes start at once
            c.apis += pool.map(lambda i: factory.start(data_dir=root / f"api-{i}", **settings), range(2))
        for i in range(2):
            c.workers.append(factory.start_worker(c.apis[i], worker_threads=1))
        yield c
    finally:
        factory.stop_all()
        hook.receiver.__exit__(None, None, None)
        r = redis.Redis.from_url(REDIS_URL)
        for key in r.scan_iter(f"huey.*{queue}*"):
            r.delete(key)
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def stored_frames(c: Cluster, vehicle: str) -> dict[str, str]:
    """Frame name -> the stored object's ETag: the MD5 of its bytes, as each is one PutObject."""
    s3 = c.moto.client()
    got: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=c.bucket, Prefix=f"vehicles/{vehicle}/"):
        for o in page.get("Contents", []):
            if "/frames/" in o["Key"]:
                got[o["Key"].rsplit("/", 1)[1]] = o["ETag"].strip('"')
    return got


def expected_frames(video) -> dict[str, str]:
    expected: dict[str, str] = {}
    extract_frames(video, lambda n, d: expected.__setitem__(n, hashlib.md5(d).hexdigest()), fps=FPS)
    return expected


def upload_video(c: Cluster, api: LiveServer, path) -> tuple[str, str, dict]:
    headers = api.headers("vehicles:write", "vehicles:read")
    vehicle = str(uuid.uuid4())
    r = v.upload(api.url, headers, path, vehicle_uuid=vehicle)
    assert r.status_code == 201, r.text
    return r.json()["job_id"], vehicle, headers


def test_a_worker_killed_while_storing_frames_leaves_the_job_to_the_other(cluster, tmp_path):
    c = cluster
    video = v.clip(tmp_path / "walkaround.mp4", seconds=SECONDS, size=(320, 160))
    job_id, vehicle, headers = upload_video(c, c.apis[0], video)

    def storing() -> Job | None:  # running, and past extraction: frames are going to S3 now
        job = c.job(job_id)
        assert job.state != "done", "the job finished before it could be caught mid-way"
        return job if job.state == "running" and job.progress >= 0.7 else None

    job = wait_until(storing, "the frames job storing its frames")
    c.kill(c.worker_of(job.lease_owner))
    frames = v.wait_frames(c.apis[1].url, headers, job_id, timeout=180)  # asked of the other API process
    assert frames.status_code == 200, frames.text
    # Two attempts at least: on a loaded machine a heartbeat can come late and a third take over.
    assert c.job(job_id).state == "done" and c.job(job_id).attempts >= 2
    expected = expected_frames(video)
    stored = stored_frames(c, vehicle)
    assert len(stored) == frames.json()["total"] == FPS * SECONDS
    assert stored == expected
    assert c.moto.client().list_multipart_uploads(Bucket=c.bucket).get("Uploads", []) == []
    c.workers.append(c.factory.start_worker(c.apis[0], worker_threads=1))  # two workers again


def test_the_worker_holding_the_sweep_is_killed_and_the_other_reruns_its_orphaned_job(cluster, tmp_path):
    c = cluster
    holder, other = c.workers
    # `other` is paused, so `holder` alone takes the job and every round. A paused worker holds no
    # queue message: its pending BRPOP times out within Huey's 1 s read timeout, and then it asks for none.
    os.killpg(other.pid, signal.SIGSTOP)
    time.sleep(2)
    video = v.clip(tmp_path / "interior.mp4", seconds=4, size=(320, 160))
    job_id, vehicle, headers = upload_video(c, c.apis[1], video)

    def holder_has_the_sweep_and_the_job() -> bool:
        job = c.job(job_id)
        assert job.state != "done", "the job ended before its worker could be killed"
        sweeper = c.round_holder("sweep")
        return job.state == "running" and sweeper is not None and c.worker_of(sweeper) is holder

    wait_until(holder_has_the_sweep_and_the_job, "the job running on the worker holding the sweep round")
    assert c.worker_of(c.job(job_id).lease_owner) is holder
    c.kill(holder)  # the sweep holder and the job's worker at once
    os.killpg(other.pid, signal.SIGCONT)
    # The job's message died with its worker: only a sweep, run by the other worker, brings it back.
    frames = v.wait_frames(c.apis[0].url, headers, job_id, timeout=180)
    assert frames.status_code == 200, frames.text
    job = c.job(job_id)
    assert job.state == "done" and job.attempts >= 2
    assert c.worker_of(c.round_holder("sweep")) is other


def test_an_upload_event_is_delivered_after_the_api_process_that_accepted_it_died(cluster):
    c = cluster
    c.hook.down = True  # the hook refuses notifications for now: every delivery fails and is retried
    api = c.apis.pop(0)
    with tus_client(api) as tus:
        path = create(tus, 3, **{"Upload-Metadata": metadata(filename="walk.insv")})
        patch(tus, path, 0, b"abc")
    upload_id = path.rsplit("/", 1)[1]
    wait_until(lambda: c.hook.receiver.attempts >= 3, "failed deliveries to the hook")
    api.kill()  # the process that accepted the upload, and every task it had
    assert c.hook.receiver.types(upload_id) == ["pre-create"]
    c.hook.down = False
    wait_until(lambda: c.hook.receiver.types(upload_id) == ["pre-create", "created", "finished"],
               "created and finished delivered, in order")

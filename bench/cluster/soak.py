"""Soak run of an omnidrop cluster under injected faults (not part of the test suite).

N `omnidrop serve` processes and M `omnidrop worker` processes on one PostgreSQL database, Redis and an
S3 server (moto's, on 127.0.0.1), with client threads uploading without pause, for a set duration:
Content-Range chunked uploads (some then made into projects, so the workers have jobs) and tus
uploads, each request sent to a node picked at random, resumed on another node whenever a request
fails. Every `--fault-every` seconds one fault, in turn:

  * stop:        SIGSTOP an API node (a GC pause, a stalled VM) for longer than an upload lease, so
                 another node takes its uploads over, then SIGCONT it (its late writes must be fenced);
  * kill-api:    SIGKILL an API node mid-request and start it again;
  * kill-worker: SIGKILL a worker (mid-job if it has one) and start it again.

At the end every upload the cluster reported complete is read back from the bucket and compared by
sha256 with what was sent, and every project must have finished. The report gives the counts:
uploads, faults injected, mismatches (must be 0), files taken over from another writer, projects.

    .venv/bin/python bench/cluster/soak.py --duration 120
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from PIL import Image

OMNIDROP = [sys.executable, "-m", "omnidrop.cli.main"]
MiB = 1024 * 1024
PART = 5 * MiB  # the S3 store's part size: the smallest S3 allows, so uploads span several parts
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "soak", "AWS_SECRET_ACCESS_KEY": "soak", "AWS_DEFAULT_REGION": "us-east-1"}
TUS = {"Tus-Resumable": "1.0.0"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited early")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up")


@dataclass
class Proc:
    """One cluster process, restartable after a kill."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    proc: subprocess.Popen | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> None:
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if wait:
            self.ready()

    def ready(self) -> None:
        if self.port is not None:
            wait_http(f"{self.url}/healthz", self.proc, self.name)

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Done:
    kind: str  # "chunked" or "tus"
    upload_id: str
    size: int
    sha256: str


@dataclass
class Tally:
    done: list[Done] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)
    retries: int = 0
    abandoned: int = 0
    faults: dict[str, int] = field(default_factory=lambda: {"stop": 0, "kill-api": 0, "kill-worker": 0})
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client(threading.Thread):
    """Uploads one file after another until told to stop, resuming on any node after any failure."""

    def __init__(self, n: int, nodes: list[Proc], key: str, tally: Tally, stop: threading.Event,
                 rng: random.Random, max_mib: int) -> None:
        super().__init__(daemon=True, name=f"client-{n}")
        self.n, self.nodes, self.tally, self.stopping, self.rng, self.max_mib = n, nodes, tally, stop, rng, max_mib
        self.auth = {"Authorization": f"Bearer {key}"}
        self.http = httpx.Client(timeout=httpx.Timeout(20, connect=3))

    def node(self) -> str:
        return self.rng.choice(self.nodes).url

    def run(self) -> None:
        i = 0
        while not self.stopping.is_set():
            i += 1
            try:
                if i % 2:
                    self.chunked(project=i % 3 == 1)
                else:
                    self.tus()
            except TimeoutError:
                with self.tally.lock:
                    self.tally.abandoned += 1

    def retry(self, deadline: float) -> None:
        with self.tally.lock:
            self.tally.retries += 1
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.2 + self.rng.random() * 0.3)

    # -- Content-Range chunks (file upload API), sometimes made into a project -----------------------

    def chunked(self, project: bool) -> None:
        data, name = (photo(self.rng), "photo.jpg") if project else (self.payload(), "walk.mp4")
        deadline = time.monotonic() + 180
        while True:
            try:
                r = self.http.post(f"{self.node()}/api/v1/uploads", headers=self.auth)
                if r.status_code == 201 or r.status_code == 200:
                    sid = r.json()["upload_id"]
                    break
            except httpx.HTTPError:
                pass
            self.retry(deadline)
        received, chunk = 0, 2 * MiB
        while True:
            end = min(received + chunk, len(data))
            try:
                r = self.http.put(f"{self.node()}/api/v1/uploads/{sid}/{name}", content=data[received:end],
                                  headers={**self.auth, "Content-Range": f"bytes {received}-{end - 1}/{len(data)}"})
                body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
                if r.status_code in (200, 201) and body.get("complete"):
                    break
                if "received" in body:
                    received = body["received"]
                    if r.status_code in (200, 201):
                        continue
            except (httpx.HTTPError, ValueError):
                received = self.received(sid, name, received)
            self.retry(deadline)
        self.record(Done("chunked", sid, len(data), hashlib.sha256(data).hexdigest()))
        if project:
            while True:
                try:
                    r = self.http.post(f"{self.node()}/api/v1/projects", headers=self.auth, json={"upload_id": sid})
                    if r.status_code in (200, 201):
                        with self.tally.lock:
                            self.tally.projects.append(r.json()["name"])
                        return
                    if r.status_code == 404:  # taken by the request that timed out: it made the project
                        with self.tally.lock:
                            self.tally.projects.append(sid)
                        return
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                self.retry(deadline)

    def received(self, sid: str, name: str, fallback: int) -> int:
        try:
            r = self.http.get(f"{self.node()}/api/v1/uploads/{sid}/{name}", headers=self.auth)
            return r.json()["received"] if r.status_code == 200 else fallback
        except (httpx.HTTPError, ValueError, KeyError):
            return fallback

    # -- tus ------------------------------------------------------------------------------------------

    def tus(self) -> None:
        data = self.payload()
        deadline = time.monotonic() + 180
        while True:
            try:
                r = self.http.post(f"{self.node()}/files/",
                                   headers={**self.auth, **TUS, "Upload-Length": str(len(data))})
                if r.status_code == 201:
                    path = httpx.URL(r.headers["location"]).path
                    break
            except httpx.HTTPError:
                pass
            self.retry(deadline)
        offset, complete = 0, False
        while not complete:
            try:
                end = min(offset + 2 * MiB, len(data))
                r = self.http.patch(f"{self.node()}{path}", content=data[offset:end], headers={
                    **self.auth, **TUS, "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream"})
                if r.status_code == 204:
                    offset = int(r.headers["upload-offset"])
                    complete = offset == len(data)
                    continue
            except httpx.HTTPError:
                pass
            self.retry(deadline)
            offset, complete = self.head(path, offset)
        upload_id = path.rstrip("/").rsplit("/", 1)[-1]
        self.record(Done("tus", upload_id, len(data), hashlib.sha256(data).hexdigest()))

    def head(self, path: str, fallback: int) -> tuple[int, bool]:
        try:
            r = self.http.head(f"{self.node()}{path}", headers={**self.auth, **TUS})
            if r.status_code == 200:
                offset = int(r.headers["upload-offset"])
                return offset, offset == int(r.headers["upload-length"])
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        return fallback, False

    def payload(self) -> bytes:
        return os.urandom(self.rng.randint(1 * MiB, self.max_mib * MiB))

    def record(self, done: Done) -> None:
        with self.tally.lock:
            self.tally.done.append(done)


def photo(rng: random.Random) -> bytes:
    """A small real JPEG: its project gets a thumbnail job on a worker."""
    out = io.BytesIO()
    Image.effect_noise((320, 240), rng.uniform(20, 80)).convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def inject(kind: str, apis: list[Proc], workers: list[Proc], rng: random.Random, lease_ttl: float) -> None:
    if kind == "stop":
        node = rng.choice(apis)
        with node.lock:
            node.signal(signal.SIGSTOP)
            time.sleep(lease_ttl + rng.uniform(1, 3))  # long enough for its uploads to be taken over
            node.signal(signal.SIGCONT)
    elif kind == "kill-api":
        node = rng.choice(apis)
        with node.lock:
            node.kill()
            node.start()
    else:
        worker = rng.choice(workers)
        worker.kill()
        worker.start(wait=False)


async def verify(database_url: str, storage_url: str, done: list[Done], projects: list[str]) -> dict:
    """Every completed upload read back from the bucket and compared by sha256; the takeovers and the
    projects' end states, from the database."""
    from sqlalchemy import func, select

    from omnidrop.db.engine import Database
    from omnidrop.db.models import Project, UploadFile
    from omnidrop.storage.s3 import S3BlobStore

    db, store = Database(database_url), S3BlobStore(storage_url)
    mismatches, incomplete = [], []
    try:
        for d in done:
            async with db.read() as s:
                f = await s.scalar(select(UploadFile).where(UploadFile.session_id == d.upload_id))
            if f is None or not f.complete:
                incomplete.append(d.upload_id)
                continue
            digest, size = hashlib.sha256(), 0
            async for chunk in store.read(f.blob_key):
                digest.update(chunk)
                size += len(chunk)
            if (digest.hexdigest(), size) != (d.sha256, d.size):
                mismatches.append(d.upload_id)
        async with db.read() as s:
            taken_over = await s.scalar(select(func.count()).select_from(UploadFile).where(UploadFile.fence_epoch > 0))
            states = dict((await s.execute(
                select(Project.state, func.count()).where(Project.name.in_(projects) | Project.upload_session_id.in_(projects))
                .group_by(Project.state))).all())
    finally:
        await store.close()
        await db.dispose()
    return {"mismatches": mismatches, "incomplete": incomplete, "taken_over": taken_over, "projects": states}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=120, help="seconds of load with faults (default 120)")
    p.add_argument("--nodes", type=int, default=3, help="omnidrop serve processes (default 3)")
    p.add_argument("--workers", type=int, default=2, help="omnidrop worker processes (default 2)")
    p.add_argument("--clients", type=int, default=4, help="uploading client threads (default 4)")
    p.add_argument("--fault-every", type=float, default=8, help="seconds between faults (default 8)")
    p.add_argument("--max-mib", type=int, default=12, help="largest upload in MiB (default 12)")
    p.add_argument("--seed", type=int, default=15)
    p.add_argument("--pg", default=os.environ.get("OMNIDROP_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
                   help="a PostgreSQL admin URL: a fresh database is made there and dropped after")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis for the queue (a queue name of its own)")
    p.add_argument("--keep", action="store_true", help="keep the work folder (logs) and the database")
    args = p.parse_args()
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="omnidrop-soak-"))
    os.environ.update(CREDENTIALS)
    procs: list[Proc] = []
    db_name = f"omnidrop_soak_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg(args.pg, f'CREATE DATABASE "{db_name}"'))
    database_url = args.pg.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{db_name}"
    moto_port = free_port()
    moto = Proc("moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
                dict(os.environ), root / "moto.log")
    procs.append(moto)
    try:
        moto.start(wait=False)
        wait_http(f"http://127.0.0.1:{moto_port}/moto-api/", moto.proc, "moto")
        bucket = f"soak-{uuid.uuid4().hex[:8]}"
        storage_url = f"s3://{bucket}?endpoint=http://127.0.0.1:{moto_port}&region=us-east-1&part_size={PART}"
        lease_ttl = 3.0
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIDROP_")}
        env.update({
            "PYTHONUNBUFFERED": "1", "OMNIDROP_DATABASE_URL": database_url, "OMNIDROP_STORAGE_URL": storage_url,
            "OMNIDROP_QUEUE_URL": args.redis, "OMNIDROP_QUEUE_NAME": f"soak-{uuid.uuid4().hex[:8]}",
            "OMNIDROP_SECRET_KEY": uuid.uuid4().hex, "OMNIDROP_EMBEDDED_WORKER": "false",
            "OMNIDROP_RATE_LIMITS_ENABLED": "false", "OMNIDROP_FSYNC": "false",
            "OMNIDROP_LEASE_TTL_SECONDS": str(lease_ttl), "OMNIDROP_LEASE_RENEW_SECONDS": "0.5",
            "OMNIDROP_JOB_LEASE_SECONDS": "6", "OMNIDROP_JOB_SWEEP_SECONDS": "4",
            "OMNIDROP_HOUSEKEEPING_SECONDS": "2", "OMNIDROP_REAP_SECONDS": "5",
        })

        def process_env(name: str) -> dict[str, str]:
            data = root / name
            data.mkdir()
            return {**env, "OMNIDROP_DATA_DIR": str(data)}

        setup = process_env("setup")
        for cmd in (["storage", "create-bucket"],):
            subprocess.run([*OMNIDROP, *cmd], env=setup, check=True, capture_output=True)
        apis = []
        for i in range(args.nodes):
            port = free_port()
            apis.append(Proc(f"api-{i}", [*OMNIDROP, "serve", "--port", str(port), "--workers", "1"],
                             process_env(f"api-{i}"), root / f"api-{i}.log", port=port))
        workers = [Proc(f"worker-{i}", [*OMNIDROP, "worker"], process_env(f"worker-{i}"), root / f"worker-{i}.log")
                   for i in range(args.workers)]
        procs += apis + workers
        for proc in apis + workers:  # all at once, on a database nobody migrated yet
            proc.start(wait=False)
        for proc in apis:
            proc.ready()
        made = subprocess.run([*OMNIDROP, "keys", "create", "--name", "soak", "--owner", "soak",
                               "--scope", "projects:write", "--scope", "projects:read"],
                              env=setup, check=True, capture_output=True, text=True)
        key = made.stdout.strip().splitlines()[-1]

        tally, stopping = Tally(), threading.Event()
        clients = [Client(i, apis, key, tally, stopping, random.Random(args.seed * 100 + i), args.max_mib)
                   for i in range(args.clients)]
        started = time.monotonic()
        for c in clients:
            c.start()
        kinds = ["stop", "kill-api", "kill-worker"]
        n = 0
        while time.monotonic() - started < args.duration:
            time.sleep(args.fault_every)
            if time.monotonic() - started >= args.duration:
                break
            kind = kinds[n % len(kinds)]
            inject(kind, apis, workers, rng, lease_ttl)
            tally.faults[kind] += 1
            n += 1
            print(f"[{time.monotonic() - started:6.1f}s] {kind}; {len(tally.done)} uploads done", flush=True)
        stopping.set()
        for c in clients:  # each finishes the upload it is in
            c.join(240)
        loaded = time.monotonic() - started
        # Projects finish on the workers (a job whose worker was killed is swept and run again).
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            result = asyncio.run(verify(database_url, storage_url, [], tally.projects))
            if sum(result["projects"].values()) >= len(tally.projects) and set(result["projects"]) <= {"ready", "failed"}:
                break
            time.sleep(2)
        result = asyncio.run(verify(database_url, storage_url, tally.done, tally.projects))
        # A client may see all of an upload's bytes acknowledged before the file is marked complete (its
        # node died in between): the server completes it by itself once the writer's lease lapses.
        healed = len(result["incomplete"])
        deadline = time.monotonic() + 60
        while result["incomplete"] and time.monotonic() < deadline:
            time.sleep(2)
            result = asyncio.run(verify(database_url, storage_url, tally.done, tally.projects))
        healed -= len(result["incomplete"])
        done = tally.done
        mib = sum(d.size for d in done) / MiB
        print()
        print(f"| soak | {args.nodes} API nodes, {args.workers} workers, {args.clients} clients, {loaded:.0f} s |")
        print("|---|---|")
        print(f"| uploads completed | {len(done)} ({sum(d.kind == 'chunked' for d in done)} Content-Range, "
              f"{sum(d.kind == 'tus' for d in done)} tus; {mib:.0f} MiB) |")
        print(f"| faults injected | {sum(tally.faults.values())} ({', '.join(f'{k} {v}' for k, v in tally.faults.items())}) |")
        print(f"| requests retried on another node | {tally.retries} |")
        print(f"| files taken over from another writer | {result['taken_over']} |")
        print(f"| sha256 mismatches | {len(result['mismatches'])} |")
        print(f"| all bytes acknowledged, completed afterwards by the server | {healed} |")
        print(f"| all bytes acknowledged, never completed | {len(result['incomplete'])} |")
        print(f"| uploads abandoned (3 min without progress) | {tally.abandoned} |")
        print(f"| projects | {len(tally.projects)}: {', '.join(f'{k} {v}' for k, v in sorted(result['projects'].items()))} |")
        if result["mismatches"] or result["incomplete"]:
            print("MISMATCH:", result["mismatches"], "INCOMPLETE:", result["incomplete"])
            sys.exit(1)
    finally:
        for proc in reversed(procs):
            proc.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
            asyncio.run(_pg(args.pg, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        else:
            print(f"kept {root} and database {db_name}")


async def _pg(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


if __name__ == "__main__":
    main()

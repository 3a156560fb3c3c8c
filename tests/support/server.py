"""Real `omnidrop serve` processes for tests, each with its own data dir, port and settings."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

OMNIDROP = [sys.executable, "-m", "omnidrop.cli.main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*OMNIDROP, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


@dataclass
class LiveServer:
    data_dir: Path
    env: dict[str, str]
    port: int
    server: str = "uvicorn"
    workers: int = 1
    proc: subprocess.Popen | None = None
    keys: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    def start(self) -> LiveServer:
        self.log_path = self.data_dir / f"server-{self.port}.log"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [*OMNIDROP, "serve", "--port", str(self.port), "--server", self.server, "--workers", str(self.workers)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not come up:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole process tree, as a crash would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def key(self, *scopes: str, owner: str = "default") -> str:
        """An API key for this server's database (created once per scope set and owner)."""
        wanted = scopes or ("projects:write", "projects:read")
        cache = f"{owner}:{' '.join(sorted(wanted))}"
        if cache not in self.keys:
            args = ["keys", "create", "--name", f"test-{len(self.keys)}", "--owner", owner]
            for scope in wanted:
                args += ["--scope", scope]
            done = run_cli(args, self.env)
            assert done.returncode == 0, done.stderr
            self.keys[cache] = done.stdout.strip().splitlines()[-1]
        return self.keys[cache]

    def headers(self, *scopes: str, owner: str = "default") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key(*scopes, owner=owner)}"}


class ServerFactory:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.running: list[LiveServer] = []
        self.workers: list[subprocess.Popen] = []

    def start(self, *, database_url: str | None = None, data_dir: Path | None = None, server: str = "uvicorn",
              workers: int = 1, port: int | None = None, **settings: object) -> LiveServer:
        """Settings are OMNIDROP_* variables in lower case, e.g. max_file_bytes=1000."""
        data_dir = data_dir or self.root / f"data-{len(self.running)}"
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIDROP_")}
        env["OMNIDROP_DATA_DIR"] = str(data_dir)
        env["PYTHONUNBUFFERED"] = "1"
        if database_url:
            env["OMNIDROP_DATABASE_URL"] = database_url
        # The suite makes far more sessions per key than the spec's 30/hour: tests of the limits turn them on.
        settings.setdefault("rate_limits_enabled", False)
        # Likewise the suite logs in from one address far more often than a person would.
        settings.setdefault("login_limit_per_user", "")
        settings.setdefault("login_limit_per_address", "")
        for name, value in settings.items():
            env[f"OMNIDROP_{name.upper()}"] = _env_value(value)
        live = LiveServer(data_dir=data_dir, env=env, port=port or free_port(), server=server, workers=workers)
        self.running.append(live)
        return live.start()

    def stop_all(self) -> None:
        for live in self.running:
            live.stop()
        for proc in self.workers:
            stop_process(proc)

    def start_worker(self, live: LiveServer, *, cli_args: Sequence[str] = (), **settings: object) -> subprocess.Popen:
        """A standalone `omnidrop worker` for `live`'s database and queue (for servers started with
        embedded_worker=False); `cli_args` go after `worker` (e.g. ["--metrics-port", "9101"])."""
        env = dict(live.env)
        for name, value in settings.items():
            env[f"OMNIDROP_{name.upper()}"] = _env_value(value)
        log = open(live.data_dir / f"worker-{len(self.workers)}.log", "ab")
        proc = subprocess.Popen([*OMNIDROP, "worker", *cli_args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.workers.append(proc)
        return proc


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGINT) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _env_value(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict, bool)):
        return json.dumps(value)
    return str(value)


def stored_bytes(server: LiveServer, session_id: str, name: str) -> bytes:
    """The bytes the server holds for one file, found through its database row."""
    import asyncio

    from sqlalchemy import select

    from omnidrop.db.engine import Database
    from omnidrop.db.models import UploadFile
    from omnidrop.settings import Settings

    url = Settings(data_dir=server.data_dir, database_url=server.env.get("OMNIDROP_DATABASE_URL")).resolved_database_url

    async def blob_key() -> str:
        db = Database(url)
        try:
            async with db.read() as s:
                return await s.scalar(
                    select(UploadFile.blob_key).where(UploadFile.session_id == session_id, UploadFile.name == name)
                )
        finally:
            await db.dispose()

    return read_blob(server, asyncio.run(blob_key()))


def _server_store(server: LiveServer):
    """The blob store a live server uses (local disk or S3), opened from its own settings."""
    from omnidrop.settings import Settings
    from omnidrop.storage.factory import open_store

    return open_store(Settings(data_dir=server.data_dir, storage_url=server.env.get("OMNIDROP_STORAGE_URL")))


def read_blob(server: LiveServer, key: str) -> bytes:
    """One blob's bytes, read through whichever store the server uses."""
    import asyncio

    async def read() -> bytes:
        store = _server_store(server)
        try:
            return b"".join([chunk async for chunk in store.read(key)])
        finally:
            await store.close()

    return asyncio.run(read())


def stored_keys(server: LiveServer, prefix: str) -> list[str]:
    """Every complete blob under `prefix/` in the server's store."""
    import asyncio

    async def keys() -> list[str]:
        store = _server_store(server)
        try:
            return [b.key async for b in store.list(prefix)]
        finally:
            await store.close()

    return asyncio.run(keys())


def stored_sha256s(server: LiveServer, session_id: str) -> dict[str, tuple[int, str]]:
    """`{name: (size, sha256)}` of every file of one session, streamed from the server's store (a 1 GiB
    file is hashed without holding it in memory)."""
    import asyncio
    import hashlib

    from sqlalchemy import select

    from omnidrop.db.engine import Database
    from omnidrop.db.models import UploadFile
    from omnidrop.settings import Settings

    url = Settings(data_dir=server.data_dir, database_url=server.env.get("OMNIDROP_DATABASE_URL")).resolved_database_url

    async def hashes() -> dict[str, tuple[int, str]]:
        db = Database(url)
        try:
            async with db.read() as s:
                rows = (await s.execute(select(UploadFile.name, UploadFile.blob_key)
                                        .where(UploadFile.session_id == session_id))).all()
        finally:
            await db.dispose()
        store = _server_store(server)
        out = {}
        try:
            for name, key in rows:
                h, size = hashlib.sha256(), 0
                async for chunk in store.read(key):
                    h.update(chunk)
                    size += len(chunk)
                out[name] = (size, h.hexdigest())
        finally:
            await store.close()
        return out

    return asyncio.run(hashes())

"""Running the `omnidrop` client commands in tests: environment, runs, kills, test files."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

from tests.support.server import OMNIDROP, LiveServer

MiB = 1024 * 1024


def client_env(server: LiveServer | None, tmp: Path, *, url: str | None = None, key: str | None = None,
               **extra: str) -> dict[str, str]:
    """A clean environment for the client: its own state and config files, the server's URL and a key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIDROP_")}
    env["OMNIDROP_STATE_FILE"] = str(tmp / "state.json")
    env["OMNIDROP_CLIENT_CONFIG"] = str(tmp / "client.toml")
    env["PYTHONUNBUFFERED"] = "1"
    if server is not None or url:
        env["OMNIDROP_URL"] = url or server.url  # type: ignore[union-attr]
    if key or server is not None:
        env["OMNIDROP_API_KEY"] = key or server.key()  # type: ignore[union-attr]
    env.update(extra)
    return env


def omnidrop(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*OMNIDROP, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def result_json(done: subprocess.CompletedProcess) -> dict:
    assert done.stdout.strip(), f"no JSON on stdout (rc {done.returncode}): {done.stderr}"
    return json.loads(done.stdout)


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    out = open(log, "ab")
    return subprocess.Popen([*OMNIDROP, *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def kill_after(proc: subprocess.Popen, seconds: float) -> bool:
    """SIGKILL `proc` after `seconds` unless it ends first; True if it was killed."""
    try:
        proc.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        return True


def run_until_done(args: list[str], env: dict[str, str], log: Path, rng: random.Random, kills: int,
                   window: tuple[float, float]) -> int:
    """Run the command, SIGKILL it at `kills` random instants in `window` seconds, then let it finish.
    Returns how many runs were killed."""
    killed = 0
    for i in range(kills):
        proc = start(args, env, log)
        if not kill_after(proc, rng.uniform(*window)):
            assert proc.returncode == 0, log.read_text(errors="replace")[-3000:]
            return killed
        killed += 1
    proc = start(args, env, log)
    assert proc.wait(timeout=600) == 0, log.read_text(errors="replace")[-3000:]
    return killed


def sparse_file(path: Path, size: int, seed: int) -> str:
    """A big file made fast: sparse, with a random 64 KiB block and the block's index every 8 MiB, so a
    misplaced or missing chunk changes the hash. Returns its sha256."""
    rng = random.Random(seed)
    with open(path, "wb") as f:
        f.truncate(size)
        for offset in range(0, size, 8 * MiB):
            f.seek(offset)
            f.write((offset.to_bytes(8, "big") + rng.randbytes(64 * 1024))[: size - offset])
    return file_sha256(path)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(4 * MiB):
            h.update(block)
    return h.hexdigest()


def small_files(root: Path, count: int, seed: int, max_size: int = 64 * 1024) -> dict[str, tuple[int, str]]:
    """`count` random files in two folders (names as the client flattens them: `dir_name`)."""
    rng = random.Random(seed)
    expected = {}
    for i in range(count):
        sub = root / f"set{i % 2}"
        sub.mkdir(parents=True, exist_ok=True)
        data = rng.randbytes(rng.randint(1, max_size))
        (sub / f"img{i:04d}.jpg").write_bytes(data)
        expected[f"set{i % 2}_img{i:04d}.jpg"] = (len(data), hashlib.sha256(data).hexdigest())
    return expected


def batch_upload_id(state_file: Path) -> str:
    batches = json.loads(state_file.read_text())["batches"]
    (entry,) = [b for b in batches.values() if b.get("via") == "chunked"]
    return entry["upload_id"]


def wait_for(condition, timeout: float = 30, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(step)

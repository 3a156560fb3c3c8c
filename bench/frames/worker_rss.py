"""A job worker's memory after N vehicle-frame jobs, with heavy media steps in child processes (the
default) and in the worker's own threads (OMNIDROP_MEDIA_CHILD_PROCESS=false), side by side.

    python bench/frames/worker_rss.py [--jobs 60] [--modes child,in-process] [--workdir DIR]

For each mode: a fresh data dir, `omnidrop serve` without its embedded worker, and one
`omnidrop worker` (1 thread) started separately so its process is the one measured. The same clip
(1920x960, 3 s, testsrc2 + noise, H.264; generated once with the ffmpeg CLI) is uploaded to
POST /360/upload N times, one job at a time; after each job is done the worker's RSS is read while
it is idle. Prints a Markdown table: the worker's idle RSS before the first job, after the first,
after half and after all N jobs, and the largest seen; plus the worker tree (worker, fork server
and any child) after N. RSS is read with psutil (VmRSS of /proc/<pid>/status).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parents[2]
OMNIDROP = [sys.executable, "-m", "omnidrop.cli.main"]
MODES = {"child": "true", "in-process": "false"}
MiB = 1024 * 1024


def make_clip(workdir: Path) -> Path:
    path = workdir / "rss_clip_1920x960_3s.mp4"
    if not path.exists():
        tmp = path.with_suffix(".part.mp4")
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1920x960:rate=30,noise=alls=10:allf=t",
             "-t", "3", "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-pix_fmt", "yuv420p", str(tmp)],
            check=True,
        )  # fmt: skip
        tmp.rename(path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not come up")


def tree_rss(proc: psutil.Process) -> int:
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def run_mode(mode: str, clip: Path, jobs: int, workdir: Path) -> dict:
    data = Path(tempfile.mkdtemp(prefix=f"rss-{mode}-", dir=workdir))
    env = {**os.environ, "OMNIDROP_DATA_DIR": str(data), "OMNIDROP_EMBEDDED_WORKER": "false",
           "OMNIDROP_RATE_LIMITS_ENABLED": "false", "OMNIDROP_MEDIA_CHILD_PROCESS": MODES[mode]}
    key = subprocess.run([*OMNIDROP, "keys", "create", "--init-db", "--name", "rss", "--scope", "vehicles:write",
                          "--scope", "vehicles:read"], env=env, capture_output=True, text=True, check=True)
    headers = {"Authorization": f"Bearer {key.stdout.strip().splitlines()[-1]}"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(data / "processes.log", "ab")
    server = subprocess.Popen([*OMNIDROP, "serve", "--port", str(port)], env=env, stdout=log, stderr=log,
                              start_new_session=True)
    worker = subprocess.Popen([*OMNIDROP, "worker", "--threads", "1"], env=env, stdout=log, stderr=log,
                              start_new_session=True)
    try:
        wait_up(url)
        time.sleep(2)  # the worker's imports and queue setup
        proc = psutil.Process(worker.pid)
        samples = [proc.memory_info().rss]
        body = clip.read_bytes()
        for i in range(jobs):
            r = httpx.post(f"{url}/360/upload", headers=headers, data={"side": "OUTSIDE"},
                           files={"video": ("clip.mp4", body, "video/mp4")}, timeout=120)
            r.raise_for_status()
            job_id = r.json()["job_id"]
            while True:
                f = httpx.get(f"{url}/360/frames", params={"job_id": job_id, "side": "OUTSIDE"}, headers=headers)
                if f.status_code == 200:
                    break
                if f.json()["error"]["code"] != "FRAMES_NOT_READY":
                    raise RuntimeError(f"job {job_id}: {f.text}")
                time.sleep(0.1)
            assert f.json()["total"] == 15, f.text
            time.sleep(0.5)  # the job's last writes and the child's exit
            samples.append(proc.memory_info().rss)
            print(f"{mode}: job {i + 1}/{jobs}: worker RSS {samples[-1] / MiB:.0f} MiB", file=sys.stderr)
        return {"samples": samples, "tree": tree_rss(proc)}
    finally:
        for p in (worker, server):
            p.terminate()
        for p in (worker, server):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=60)
    parser.add_argument("--modes", default="child,in-process")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "omnidrop-bench-rss")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    clip = make_clip(args.workdir)
    results = {mode: run_mode(mode, clip, args.jobs, args.workdir) for mode in args.modes.split(",")}
    n, half = args.jobs, args.jobs // 2
    print(f"| heavy steps | worker idle RSS at start | after 1 job | after {half} | after {n} | largest | "
          f"worker tree after {n} |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for mode, r in results.items():
        s = [x / MiB for x in r["samples"]]
        print(f"| {mode} | {s[0]:.0f} MiB | {s[1]:.0f} MiB | {s[half]:.0f} MiB | {s[n]:.0f} MiB | "
              f"{max(s):.0f} MiB | {r['tree'] / MiB:.0f} MiB |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Upload benchmark: omnidrop (uvicorn and granian) against two tus peers, side by side.

Peers, installed by this script on first use:
  * tus-node     @tus/server + @tus/file-store (npm, pinned in peers/package-lock.json)
  * tuspyserver  tuspyserver on FastAPI/uvicorn (PyPI, pinned in peers/requirements.txt,
                 installed into bench/uploads/.peer-venv)

Every server runs on 127.0.0.1 on a free port with a fresh data dir, one server start per
scenario. The client is always curl streaming the body (`-T`), one process per request
sequence. Scenarios:
  single      one file in one request (tus: one PATCH; omnidrop: one PUT)
  chunked     the same file in 8 MiB requests over one keep-alive connection
              (tus: PATCH + Upload-Offset; omnidrop: PUT + Content-Range)
  concurrent  N clients at once, each its own upload of one file
  rss         one large file streamed from a pipe (never stored on the client side)
For each: MiB/s (payload bytes / wall time of the data requests), CPU seconds per GiB of
the server's whole process tree, and its peak RSS (sum over the tree, sampled every 50 ms).

Stdlib plus psutil. If the running Python lacks psutil the script re-runs itself in the
peer venv (which pins psutil). See README.md for caveats.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import http.client
import json
import os
import platform
import random
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from base64 import b64encode
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent  # bench/uploads
REPO = HERE.parent.parent
PEERS = HERE / "peers"
PEER_VENV = HERE / ".peer-venv"
DEFAULT_DATA = HERE / "data"
DEFAULT_OMNIDROP = REPO / ".venv" / "bin" / "omnidrop"

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
BLOCK = 8 * MiB  # the random block the inputs are made of
CHUNK = 8 * MiB  # request size of the chunked scenario
SAMPLE_INTERVAL = 0.05
SEED = 20240917

try:
    import psutil  # type: ignore
except ImportError:  # pragma: no cover - exercised only without psutil
    psutil = None


# --------------------------------------------------------------------------- utilities


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def human(n: int) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} B"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, **kw)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(4 * MiB)
            if not b:
                return h.hexdigest()
            h.update(b)


# Processes this script started; stopped on any exit path.
_children: list[subprocess.Popen] = []


def _spawn(cmd: list[str], **kw) -> subprocess.Popen:
    p = subprocess.Popen(cmd, **kw)
    _children.append(p)
    return p


def _reap_all() -> None:
    for p in list(_children):
        if p.poll() is None:
            stop_tree(p, grace=3.0)


def _on_sigterm(signum, frame):  # turn SIGTERM into a normal unwind so finally blocks run
    raise SystemExit(128 + signum)


# --------------------------------------------------------------------------- input data


def block_iter(total: int):
    """Yield `total` bytes: one seeded random 8 MiB block, its first 16 bytes replaced by
    the block number so every 8 MiB slice differs (sha256 then catches reordered chunks).
    Yields (header, body) pairs of memoryviews so nothing is copied."""
    base = memoryview(random.Random(SEED).randbytes(BLOCK))
    i = 0
    left = total
    while left > 0:
        head = i.to_bytes(16, "little")
        n = min(BLOCK, left)
        if n <= 16:
            yield memoryview(head[:n]), memoryview(b"")
        else:
            yield memoryview(head), base[16:n]
        left -= n
        i += 1


def ensure_input(inputs: Path, size: int) -> tuple[Path, str]:
    """A real (non-sparse) file of `size` bytes and its sha256, generated once."""
    path = inputs / f"input-{size}.bin"
    side = path.with_suffix(".sha256")
    if path.exists() and path.stat().st_size == size and side.exists():
        return path, side.read_text().strip()
    inputs.mkdir(parents=True, exist_ok=True)
    log(f"generating {path.name} ({human(size)})")
    h = hashlib.sha256()
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        for head, body in block_iter(size):
            h.update(head)
            h.update(body)
            f.write(head)
            f.write(body)
    tmp.rename(path)
    side.write_text(h.hexdigest() + "\n")
    return path, h.hexdigest()


def ensure_chunks(inputs: Path, src: Path, size: int, chunk: int) -> list[Path]:
    """The input cut into request-sized files: curl uploads a whole file, not a range."""
    d = inputs / f"chunks-{size}-{chunk}"
    n = (size + chunk - 1) // chunk
    parts = [d / f"part-{i:05d}.bin" for i in range(n)]
    stamp = d / "done"
    if stamp.exists() and all(p.exists() for p in parts):
        return parts
    log(f"cutting {src.name} into {n} x {human(chunk)}")
    d.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as f:
        for p in parts:
            p.write_bytes(f.read(chunk))
    stamp.write_text("ok\n")
    return parts


# --------------------------------------------------------------------------- peers install


def ensure_node_peer() -> None:
    lock = json.loads((PEERS / "package-lock.json").read_text())
    want = {k.removeprefix("node_modules/"): v["version"] for k, v in lock["packages"].items()
            if k in ("node_modules/@tus/server", "node_modules/@tus/file-store")}
    ok = True
    for name, ver in want.items():
        pj = PEERS / "node_modules" / name / "package.json"
        if not pj.exists() or json.loads(pj.read_text()).get("version") != ver:
            ok = False
    if ok:
        return
    log("installing node peer: npm ci (bench/uploads/peers)")
    run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEERS, stdout=sys.stderr)


def ensure_peer_venv() -> Path:
    req = PEERS / "requirements.txt"
    digest = hashlib.sha256(req.read_bytes()).hexdigest()
    stamp = PEER_VENV / ".requirements.sha256"
    py = PEER_VENV / "bin" / "python"
    if py.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return py
    log(f"installing python peer into {PEER_VENV.relative_to(REPO)}")
    base = getattr(sys, "_base_executable", None) or sys.executable
    if not py.exists():
        run([base, "-m", "venv", str(PEER_VENV)], stdout=sys.stderr)
    run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(req)],
        stdout=sys.stderr)
    stamp.write_text(digest + "\n")
    return py


# --------------------------------------------------------------------------- sampling


class TreeSampler(threading.Thread):
    """Samples a process and all its descendants every 50 ms: RSS summed over the tree and
    CPU time (user + system) per process. The CPU of a window is the sum over processes of
    (last value seen - value at window start); a process that dies loses < 50 ms."""

    def __init__(self, pid: int, interval: float = SAMPLE_INTERVAL):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.interval = interval
        self.lock = threading.Lock()
        self.cpu: dict[tuple[int, float], float] = {}
        self.peak_rss = 0
        self.last_rss = 0
        self.peak_pss = 0
        self.last_pss = 0
        self.samples = 0
        self._halt = threading.Event()

    def _procs(self):
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def sample(self) -> None:
        rss = pss = 0
        seen = {}
        for p in self._procs():
            try:
                with p.oneshot():
                    t = p.cpu_times()
                    m = p.memory_full_info()  # rss, and pss from smaps_rollup
                    key = (p.pid, p.create_time())
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
            seen[key] = t.user + t.system
            rss += m.rss
            pss += getattr(m, "pss", m.rss)
        with self.lock:
            self.cpu.update(seen)
            self.last_rss, self.last_pss = rss, pss
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.samples += 1

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def start_window(self) -> dict:
        self.sample()
        with self.lock:
            self.peak_rss = self.last_rss
            self.peak_pss = self.last_pss
            return {"cpu": dict(self.cpu), "rss": self.last_rss, "samples": self.samples}

    def end_window(self, start: dict) -> tuple[float, int, int, int]:
        self.sample()
        with self.lock:
            base = start["cpu"]
            cpu = sum(v - base.get(k, 0.0) for k, v in self.cpu.items())
            return cpu, self.peak_rss, self.peak_pss, self.samples - start["samples"]

    def stop(self) -> None:
        self._halt.set()


def stop_tree(p: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process, wait, then SIGKILL whatever is left of its tree (by pid)."""
    kids = []
    if psutil is not None:
        try:
            kids = psutil.Process(p.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            kids = []
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    for k in kids:
        try:
            k.wait(timeout=grace if k.is_running() else 0)
        except psutil.TimeoutExpired:
            try:
                k.kill()
            except psutil.NoSuchProcess:
                pass
        except psutil.NoSuchProcess:
            pass
    if p in _children:
        _children.remove(p)


# --------------------------------------------------------------------------- HTTP helpers (control plane)


def http_req(port: int, method: str, path: str, headers: dict | None = None, body: bytes | None = None,
             timeout: float = 30.0) -> tuple[int, dict, bytes]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def wait_ready(port: int, proc: subprocess.Popen, logfile: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before ready; log tail:\n"
                               + tail(logfile))
        try:
            status, _, _ = http_req(port, "GET", "/healthz", timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready after {timeout:.0f}s; log tail:\n" + tail(logfile))


def tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------- curl


def cq(s: str) -> str:
    """Quote a value for a curl config file."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Segment:
    """One HTTP request carrying a body, for a curl config file."""

    url: str
    method: str
    headers: list[str]
    upload: str  # path, or "-" for stdin
    out: Path
    expect: tuple[int, ...]


def write_curl_config(path: Path, segs: list[Segment], max_time: int) -> None:
    lines = []
    for i, s in enumerate(segs):
        if i:
            lines.append("next")
        lines += [
            f"url = {cq(s.url)}",
            f"request = {cq(s.method)}",
            f"upload-file = {cq(s.upload)}",
            'header = "Expect:"',  # no 100-continue round trip
            *[f"header = {cq(h)}" for h in s.headers],
            f"output = {cq(str(s.out))}",
            'write-out = "%{http_code}\\n"',
            "silent",
            "show-error",
            f"max-time = {max_time}",
        ]
    path.write_text("\n".join(lines) + "\n")


def check_codes(stdout: str, segs: list[Segment]) -> list[str]:
    codes = stdout.split()
    errs = []
    if len(codes) != len(segs):
        errs.append(f"curl reported {len(codes)} responses for {len(segs)} requests")
    for i, (c, s) in enumerate(zip(codes, segs)):
        if not c.isdigit() or int(c) not in s.expect:
            body = s.out.read_text(errors="replace")[:300] if s.out.exists() else ""
            errs.append(f"request {i}: HTTP {c} (want {s.expect}) {body}")
            break
    return errs


# --------------------------------------------------------------------------- server kinds


@dataclass
class Upload:
    url: str  # absolute, where the body goes
    name: str
    size: int
    ident: str


class Server:
    name = "?"
    kind = "?"

    def __init__(self, args, store: Path, port: int, logfile: Path):
        self.args = args
        self.store = store
        self.port = port
        self.logfile = logfile
        self.proc: subprocess.Popen | None = None

    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # lifecycle
    def command(self) -> tuple[list[str], dict]:
        raise NotImplementedError

    def prepare(self) -> None:
        pass

    def cwd(self) -> Path | None:
        return None

    def start(self) -> None:
        self.store.mkdir(parents=True, exist_ok=True)
        self.prepare()
        cmd, env = self.command()
        with open(self.logfile, "ab") as lf:
            lf.write(("$ " + shlex.join(cmd) + "\n").encode())
            lf.flush()
            self.proc = _spawn(cmd, env={**os.environ, **env}, stdout=lf, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.cwd())
        wait_ready(self.port, self.proc, self.logfile)

    def stop(self) -> None:
        if self.proc is not None:
            stop_tree(self.proc)
            self.proc = None

    def auth(self) -> dict:
        return {}

    # protocol
    def create(self, size: int, name: str) -> Upload:
        raise NotImplementedError

    def whole(self, up: Upload, src: str, out: Path) -> Segment:
        raise NotImplementedError

    def chunk(self, up: Upload, offset: int, length: int, src: str, out: Path) -> Segment:
        raise NotImplementedError

    def received(self, up: Upload) -> int:
        raise NotImplementedError

    def stored_file(self, up: Upload) -> Path | None:
        raise NotImplementedError


class TusRequests:
    """The tus requests every tus row is driven with, plus the server's `auth()` headers."""

    kind = "tus"
    create_path = "/files"

    def create(self, size: int, name: str) -> Upload:
        meta = f"filename {b64encode(name.encode()).decode()},filetype {b64encode(b'application/octet-stream').decode()}"
        status, h, body = http_req(self.port, "POST", self.create_path, {
            **self.auth(), "Tus-Resumable": "1.0.0", "Upload-Length": str(size), "Upload-Metadata": meta,
            "Content-Length": "0"})
        if status != 201 or "location" not in h:
            raise RuntimeError(f"{self.name} tus create: HTTP {status} {body[:200]!r}")
        url = urllib.parse.urljoin(self.base() + "/files/", h["location"])
        return Upload(url=url, name=name, size=size, ident=url.rstrip("/").rsplit("/", 1)[1])

    def _patch(self, up: Upload, offset: int, src: str, out: Path, length: int) -> Segment:
        hs = [*(f"{k}: {v}" for k, v in self.auth().items()), "Tus-Resumable: 1.0.0",
              "Content-Type: application/offset+octet-stream", f"Upload-Offset: {offset}"]
        if src == "-":  # stdin: curl would send chunked plus our Content-Length; forbid chunked
            hs += [f"Content-Length: {length}", "Transfer-Encoding:"]
        return Segment(up.url, "PATCH", hs, src, out, (204,))

    def whole(self, up, src, out):
        return self._patch(up, 0, src, out, up.size)

    def chunk(self, up, offset, length, src, out):
        return self._patch(up, offset, src, out, length)

    def received(self, up: Upload) -> int:
        path = urllib.parse.urlsplit(up.url).path
        status, h, body = http_req(self.port, "HEAD", path, {**self.auth(), "Tus-Resumable": "1.0.0"})
        if status not in (200, 204):
            raise RuntimeError(f"{self.name} tus HEAD: HTTP {status}")
        return int(h["upload-offset"])


class TusServer(TusRequests, Server):
    def stored_file(self, up: Upload) -> Path | None:
        p = self.store / up.ident
        return p if p.is_file() else None


class TusNode(TusServer):
    name = "tus-node"

    def command(self):
        return ["node", str(PEERS / "tus-node-server.mjs"), "--host", "127.0.0.1",
                "--port", str(self.port), "--dir", str(self.store)], {}


class TusPy(TusServer):
    name = "tuspyserver"

    def command(self):
        return [str(PEER_VENV / "bin" / "uvicorn"), "--app-dir", str(PEERS), "tuspy_app:app",
                "--host", "127.0.0.1", "--port", str(self.port), "--loop", "uvloop",
                "--http", "httptools", "--no-access-log", "--log-level", "warning"], \
               {"TUSPY_FILES_DIR": str(self.store)}


class Omnidrop(Server):
    kind = "omnidrop"
    backend = "uvicorn"
    workers = 1
    extra_env: dict = {}

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.key = ""

    def env(self) -> dict:
        # Uploads run no jobs, so the embedded job worker stays off: the tree measured is the HTTP server.
        # The spec's 30 sessions/hour per key would stop the 32-client case: limits off too.
        return {"OMNIDROP_DATA_DIR": str(self.store), "OMNIDROP_EMBEDDED_WORKER": "false",
                "OMNIDROP_RATE_LIMITS_ENABLED": "false", **self.extra_env}

    def prepare(self) -> None:
        cmd = [str(self.args.omnidrop_bin), "keys", "create", "--init-db", "--name", "bench",
               "--scope", "projects:write", "--scope", "projects:read"]
        with open(self.logfile, "ab") as lf:
            lf.write(("$ " + shlex.join(cmd) + "\n").encode())
        r = subprocess.run(cmd, env={**os.environ, **self.env()}, capture_output=True, text=True,
                           timeout=120, cwd=self.store)
        with open(self.logfile, "a") as lf:
            lf.write(r.stderr)
        lines = [ln.strip() for ln in r.stdout.splitlines() if ln.strip()]
        if r.returncode != 0 or not lines or not lines[-1].startswith("sk_"):
            raise RuntimeError(f"omnidrop keys create failed (rc={r.returncode}): "
                               f"{r.stdout[-300:]} {r.stderr[-300:]}")
        self.key = lines[-1]

    def command(self):
        return [str(self.args.omnidrop_bin), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--server", self.backend, "--workers", str(self.workers)], self.env()

    def cwd(self) -> Path | None:
        # the data dir, so no omnidrop.toml from the caller's directory is picked up
        return self.store

    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.key}"}

    def create(self, size: int, name: str) -> Upload:
        status, _, body = http_req(self.port, "POST", "/api/v1/uploads", {**self.auth(), "Content-Length": "0"})
        if status != 201:
            raise RuntimeError(f"omnidrop create: HTTP {status} {body[:200]!r}")
        uid = json.loads(body)["upload_id"]
        return Upload(url=f"{self.base()}/api/v1/uploads/{uid}/{name}", name=name, size=size, ident=uid)

    def _put(self, up: Upload, src: str, out: Path, length: int, rng: str | None) -> Segment:
        hs = [f"Authorization: Bearer {self.key}", "Content-Type: application/octet-stream"]
        if rng:
            hs.append(f"Content-Range: {rng}")
        if src == "-":  # stdin: curl would send chunked plus our Content-Length; forbid chunked
            hs += [f"Content-Length: {length}", "Transfer-Encoding:"]
        return Segment(up.url, "PUT", hs, src, out, (200,))

    def whole(self, up, src, out):
        return self._put(up, src, out, up.size, None)

    def chunk(self, up, offset, length, src, out):
        return self._put(up, src, out, length, f"bytes {offset}-{offset + length - 1}/{up.size}")

    def received(self, up: Upload) -> int:
        path = urllib.parse.urlsplit(up.url).path
        status, _, body = http_req(self.port, "GET", path, self.auth())
        if status != 200:
            raise RuntimeError(f"omnidrop GET status: HTTP {status} {body[:200]!r}")
        d = json.loads(body)
        if d.get("total") != up.size:
            raise RuntimeError(f"omnidrop: total is {d.get('total')}, want {up.size}: {d}")
        if d.get("received") == d.get("total") and not d.get("complete"):
            raise RuntimeError(f"omnidrop: received == total but complete is false: {d}")
        return int(d["received"])

    def stored_file(self, up: Upload) -> Path | None:
        # Layout is omnidrop's business: take the one file of the right size under the
        # data dir whose path mentions the upload id or the file name.
        hits = []
        for p in self.store.rglob("*"):
            try:
                if p.is_file() and p.stat().st_size == up.size and (
                        up.ident in str(p) or p.name.endswith(up.name)):
                    hits.append(p)
            except OSError:
                pass
        return hits[0] if len(hits) == 1 else None


class OmnidropUvicorn(Omnidrop):
    name = "omnidrop-uvicorn"
    backend = "uvicorn"


class OmnidropGranian(Omnidrop):
    name = "omnidrop-granian"
    backend = "granian"


class OmnidropUvicornW2(OmnidropUvicorn):
    """Two HTTP worker processes on one SQLite database (the lease keeps one writer per file)."""
    name = "omnidrop-uvicorn-w2"
    workers = 2


class OmnidropUvicornNoFsync(OmnidropUvicorn):
    name = "omnidrop-uvicorn-nofsync"
    extra_env = {"OMNIDROP_FSYNC": "false"}


class OmnidropGranianNoFsync(OmnidropGranian):
    name = "omnidrop-granian-nofsync"
    extra_env = {"OMNIDROP_FSYNC": "false"}


class OmnidropTus(TusRequests, Omnidrop):
    """omnidrop's tus endpoint (`/files/`): the very requests the tus peers get, plus the API key."""

    create_path = "/files/"


class OmnidropTusUvicorn(OmnidropTus):
    name = "omnidrop-tus-uvicorn"
    backend = "uvicorn"


class OmnidropTusGranian(OmnidropTus):
    name = "omnidrop-tus-granian"
    backend = "granian"


SERVERS = {c.name: c for c in (TusNode, TusPy, OmnidropUvicorn, OmnidropGranian, OmnidropUvicornW2,
                                OmnidropUvicornNoFsync, OmnidropGranianNoFsync,
                                OmnidropTusUvicorn, OmnidropTusGranian)}
DEFAULT_SERVERS = ["tus-node", "tuspyserver", "omnidrop-uvicorn", "omnidrop-granian", "omnidrop-tus-uvicorn",
                   "omnidrop-tus-granian"]
SCENARIOS = ["single", "chunked", "concurrent", "rss"]


# --------------------------------------------------------------------------- scenarios


@dataclass
class Sizes:
    single: int
    clients: int
    client_size: int
    rss: int

    @classmethod
    def for_args(cls, quick: bool) -> "Sizes":
        if quick:
            return cls(single=64 * MiB, clients=8, client_size=16 * MiB, rss=256 * MiB)
        return cls(single=1 * GiB, clients=32, client_size=64 * MiB, rss=4 * GiB)


@dataclass
class Result:
    server: str
    scenario: str
    label: str
    bytes: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss: int = 0
    peak_pss: int = 0
    idle_rss: int = 0
    procs: int = 0
    samples: int = 0
    check: str = ""
    errors: list[str] = field(default_factory=list)
    client_peak_rss: int = 0

    @property
    def mib_s(self) -> float:
        return self.bytes / MiB / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_per_gib(self) -> float:
        return self.cpu_s / (self.bytes / GiB) if self.bytes else 0.0


def max_time_for(total: int) -> int:
    return int(60 + total / MiB / 5)  # floor of 5 MiB/s before curl gives up


def run_curl(cfg: Path, stdin=None) -> subprocess.Popen:
    return _spawn(["curl", "-K", str(cfg)], stdin=stdin, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, text=True)


def finish_curl(p: subprocess.Popen, timeout: int) -> tuple[str, str, int]:
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    if p in _children:
        _children.remove(p)
    return out, err, p.returncode


def verify(srv: Server, ups: list[Upload], sha: str | None, res: Result) -> None:
    msgs = []
    for up in ups:
        got = srv.received(up)
        if got != up.size:
            res.errors.append(f"{up.name}: server reports {got} of {up.size} bytes")
            continue
        f = srv.stored_file(up)
        if f is not None and f.stat().st_size != up.size:
            res.errors.append(f"{up.name}: stored file is {f.stat().st_size} bytes, want {up.size}")
    if res.errors:
        res.check = "FAIL"
        return
    msgs.append("size ok" if len(ups) == 1 else f"{len(ups)} sizes ok")
    if sha is not None:
        f = srv.stored_file(ups[0])
        if f is None:
            msgs.append("sha256 n/a (file not found)")
        elif sha256_file(f) == sha:
            msgs.append("sha256 ok")
        else:
            res.errors.append(f"sha256 mismatch for {f}")
            msgs.append("SHA256 MISMATCH")
    res.check = ", ".join(msgs)


def scenario(srv: Server, name: str, sizes: Sizes, inputs: dict, work: Path, samp: TreeSampler,
             res: Result) -> None:
    resp = work / "responses"
    resp.mkdir(parents=True, exist_ok=True)
    if name == "single":
        src, sha = inputs["single"]
        up = srv.create(sizes.single, "bench-single.e57")
        segs = [srv.whole(up, str(src), resp / "single.out")]
        cfgs = [(work / "single.curl", segs)]
        ups, total = [up], sizes.single
    elif name == "chunked":
        src, sha = inputs["single"]
        up = srv.create(sizes.single, "bench-chunked.e57")
        segs = []
        for i, part in enumerate(inputs["chunks"]):
            off = i * CHUNK
            length = min(CHUNK, sizes.single - off)
            segs.append(srv.chunk(up, off, length, str(part), resp / f"chunk-{i:05d}.out"))
        cfgs = [(work / "chunked.curl", segs)]
        ups, total = [up], sizes.single
    elif name == "concurrent":
        src, _ = inputs["client"]
        sha = None
        ups, cfgs = [], []
        for i in range(sizes.clients):
            up = srv.create(sizes.client_size, f"bench-client-{i:02d}.e57")
            ups.append(up)
            cfgs.append((work / f"client-{i:02d}.curl", [srv.whole(up, str(src), resp / f"client-{i:02d}.out")]))
        total = sizes.clients * sizes.client_size
    elif name == "rss":
        sha = None
        up = srv.create(sizes.rss, "bench-rss.e57")
        cfgs = [(work / "rss.curl", [srv.whole(up, "-", resp / "rss.out")])]
        ups, total = [up], sizes.rss
    else:
        raise ValueError(name)

    mt = max_time_for(total)
    for path, segs in cfgs:
        write_curl_config(path, segs, mt)

    w = samp.start_window()
    res.idle_rss = w["rss"]
    t0 = time.perf_counter()
    procs = []
    feeder = None
    client_samp = None
    feed_err: list[BaseException] = []
    if name == "rss":
        p = run_curl(cfgs[0][0], stdin=subprocess.PIPE)
        procs.append(p)
        client_samp = TreeSampler(p.pid)
        client_samp.start()

        def feed():
            try:
                fd = p.stdin.fileno()
                for head, body in block_iter(sizes.rss):
                    for part in (head, body):
                        while len(part):
                            n = os.write(fd, part)
                            part = part[n:]
            except BrokenPipeError as e:
                feed_err.append(e)
            finally:
                try:
                    p.stdin.close()
                except OSError:
                    pass
                p.stdin = None  # so communicate() does not flush a closed pipe

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
    else:
        for path, _ in cfgs:
            procs.append(run_curl(path))
    if feeder is not None:
        feeder.join(mt + 30)  # curl holds the body; communicate() only after the feed ends
    outs = [finish_curl(p, mt + 30) for p in procs]
    t1 = time.perf_counter()
    # Let the server settle (finalize, close files) and count that CPU too.
    time.sleep(0.3)
    cpu, peak, peak_pss, nsamp = samp.end_window(w)
    res.procs = len(samp._procs())
    if client_samp is not None:
        client_samp.stop()
        res.client_peak_rss = client_samp.peak_rss

    res.bytes, res.wall_s, res.cpu_s, res.samples = total, t1 - t0, cpu, nsamp
    res.peak_rss, res.peak_pss = peak, peak_pss
    for (path, segs), (out, err, rc) in zip(cfgs, outs):
        if rc != 0:
            res.errors.append(f"{path.name}: curl exit {rc}: {err.strip()[:300]}")
        res.errors += [f"{path.name}: {e}" for e in check_codes(out, segs)]
    if feed_err:
        res.errors.append(f"stdin feed: {feed_err[0]!r}")
    if res.errors:
        res.check = "FAIL"
        return
    verify(srv, ups, sha if name in ("single", "chunked") else None, res)


def scenario_label(name: str, sizes: Sizes) -> str:
    return {
        "single": f"{human(sizes.single)}, 1 request",
        "chunked": f"{human(sizes.single)}, {human(CHUNK)} requests",
        "concurrent": f"{sizes.clients} clients x {human(sizes.client_size)}",
        "rss": f"{human(sizes.rss)} from a pipe, 1 request",
    }[name]


def run_one(cls, name: str, args, sizes: Sizes, inputs: dict, runs: Path) -> Result:
    res = Result(server=cls.name, scenario=name, label=scenario_label(name, sizes))
    work = runs / f"{cls.name}-{name}"
    work.mkdir(parents=True, exist_ok=True)
    store = work / "store"
    if store.exists():
        shutil.rmtree(store)
    srv = cls(args, store, free_port(), work / "server.log")
    os.sync()  # start from clean page-cache writeback, not the previous run's dirty pages
    samp = None
    try:
        srv.start()
        samp = TreeSampler(srv.proc.pid)
        samp.start()
        time.sleep(0.5)  # a few idle samples
        scenario(srv, name, sizes, inputs, work, samp, res)
    except Exception as e:  # noqa: BLE001 - one broken server must not end the whole run
        res.errors.append(f"{type(e).__name__}: {e}")
        res.check = "FAIL"
    finally:
        if samp is not None:
            samp.stop()
        srv.stop()
        if not args.keep_data and store.exists():
            shutil.rmtree(store, ignore_errors=True)
    state = "ok" if not res.errors else "FAIL: " + "; ".join(res.errors)[:500]
    log(f"{cls.name:26s} {name:10s} {res.mib_s:8.1f} MiB/s  {res.cpu_per_gib:6.2f} CPU s/GiB  "
        f"peak RSS {res.peak_rss / MiB:7.1f} MiB  {state}")
    return res


# --------------------------------------------------------------------------- report


def versions(args) -> list[str]:
    def cmd(c: list[str]) -> str:
        try:
            return subprocess.run(c, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    q = ("import importlib.metadata as m\n"
         "for n in {!r}:\n"
         "    try: print(n, m.version(n))\n"
         "    except m.PackageNotFoundError: pass\n")
    curl = cmd(["curl", "--version"]).split("\n")[0].split(" ")[:2]
    out = [" ".join(curl) or "curl ?"]
    node = [f"node {cmd(['node', '--version']) or '?'}"]
    for pkg in ("@tus/server", "@tus/file-store"):
        pj = PEERS / "node_modules" / pkg / "package.json"
        if pj.exists():
            node.append(f"{pkg} {json.loads(pj.read_text())['version']}")
    out.append("tus-node: " + ", ".join(node))
    pv = PEER_VENV / "bin" / "python"
    if pv.exists():
        got = cmd([str(pv), "-c", q.format(("tuspyserver", "fastapi", "starlette", "uvicorn", "uvloop", "httptools"))])
        out.append("tuspyserver venv: " + ", ".join(got.splitlines()))
    opy = Path(args.omnidrop_bin).parent / "python"
    if opy.exists():
        got = cmd([str(opy), "-c", q.format(("omnidrop", "starlette", "uvicorn", "uvloop", "httptools", "granian"))])
        out.append("omnidrop venv: " + ", ".join(got.splitlines()))
    return out


def machine() -> str:
    model = "?"
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                model = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = psutil.virtual_memory().total / GiB
    return f"{os.cpu_count()} CPUs ({model}), {mem:.0f} GiB RAM, Linux {platform.release()}"


def fs_type(path: Path) -> str:
    best, fstype = "", "?"
    try:
        p = str(path.resolve())
        for ln in Path("/proc/mounts").read_text().splitlines():
            parts = ln.split()
            mnt = parts[1]
            if (p == mnt or p.startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best):
                best, fstype = mnt, parts[2]
    except OSError:
        pass
    return fstype


def median_result(rs: list[Result]) -> Result:
    if len(rs) == 1:
        return rs[0]
    ok = [r for r in rs if not r.errors] or rs
    m = Result(server=rs[0].server, scenario=rs[0].scenario, label=rs[0].label)
    m.bytes = ok[0].bytes
    m.wall_s = statistics.median(r.wall_s for r in ok)
    m.cpu_s = statistics.median(r.cpu_s for r in ok)
    m.peak_rss = max(r.peak_rss for r in ok)
    m.peak_pss = max(r.peak_pss for r in ok)
    m.procs = max(r.procs for r in ok)
    m.idle_rss = statistics.median(r.idle_rss for r in ok)
    m.errors = [e for r in rs for e in r.errors]
    m.check = "; ".join(sorted({r.check for r in rs}))
    return m


def table(results: list[Result], args, sizes: Sizes, command: str, data_root: Path) -> str:
    lines = [
        "# omnidrop upload benchmark",
        "",
        f"Command: `{command}`",
        "",
        f"Run {_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')} on {machine()}; "
        f"data on {fs_type(data_root)}; client = curl `-T` on 127.0.0.1"
        + (f"; median of {args.repeat} runs (peak RSS: max)" if args.repeat > 1 else "") + ".",
        "",
        "| server | scenario | MiB/s | CPU s/GiB | peak RSS MiB | peak PSS MiB | idle RSS MiB | check |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        if r.errors and not r.bytes:
            lines.append(f"| {r.server} | {r.label} | – | – | – | – | – | FAIL: {esc_md('; '.join(r.errors))[:200]} |")
            continue
        check = r.check if not r.errors else "FAIL: " + esc_md("; ".join(r.errors))[:200]
        lines.append(f"| {r.server} | {r.label} | {r.mib_s:.0f} | {r.cpu_per_gib:.2f} | "
                     f"{r.peak_rss / MiB:.0f} | {r.peak_pss / MiB:.0f} | {r.idle_rss / MiB:.0f} | {check} |")
    lines += [
        "",
        "MiB/s = payload / wall time of the data requests (uploads created beforehand, not timed). "
        "CPU s/GiB = user+system CPU of the server's whole process tree over the requests plus 0.3 s "
        "of settling, per GiB received. Peak RSS = highest sum of RSS over the server's process tree, "
        f"sampled every {int(SAMPLE_INTERVAL * 1000)} ms (shared pages count once per process; PSS "
        "splits them, so it is the fairer figure for multi-process servers); idle RSS = just before "
        "the first body byte. A fresh server and data dir per row. Client and server share the "
        "machine's cores.",
        "",
        "Processes in each server's tree: "
        + ", ".join(sorted({f"{r.server} {r.procs}" for r in results if r.procs})) + ".",
        "",
        "Versions: " + "; ".join(versions(args)) + ".",
    ]
    client = [r for r in results if r.scenario == "rss" and r.client_peak_rss]
    if client:
        lines += ["", "curl's own peak RSS in the pipe case (not counted above): "
                  + ", ".join(f"{r.server} {r.client_peak_rss / MiB:.0f} MiB" for r in client) + "."]
    return "\n".join(lines) + "\n"


def esc_md(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


# --------------------------------------------------------------------------- main


def omnidrop_only_args(p: argparse.ArgumentParser) -> None:
    """The options of the scripts that reuse this one against omnidrop alone (client.py,
    request_latency.py)."""
    p.add_argument("--out", type=Path, help="write the Markdown table here")
    p.add_argument("--data-root", type=Path, default=DEFAULT_DATA)
    p.add_argument("--omnidrop-bin", type=Path, default=DEFAULT_OMNIDROP)


def require_psutil() -> None:
    if psutil is None:
        raise SystemExit("psutil is needed: run this with omnidrop's .venv/bin/python")


def write_out(text: str, out: Path | None) -> None:
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="smoke sizes: 64 MiB single/chunked, 8 clients x 16 MiB, 256 MiB pipe")
    ap.add_argument("--only", action="append", default=[], metavar="NAME",
                    help="run only this server (repeat or comma-separate); names: "
                         + ", ".join(SERVERS) + "; 'omnidrop' = both omnidrop servers")
    ap.add_argument("--scenario", action="append", default=[], metavar="NAME",
                    help="run only this scenario (repeat or comma-separate): " + ", ".join(SCENARIOS))
    ap.add_argument("--clients", type=int, help="override the number of concurrent clients")
    ap.add_argument("--client-mib", type=int, help="override each concurrent client's file size (MiB)")
    ap.add_argument("--out", type=Path, help="also write the Markdown table to this file")
    ap.add_argument("--json", type=Path, help="write every run's raw numbers as JSON here")
    ap.add_argument("--repeat", type=int, default=1, help="runs per row; the table shows medians")
    ap.add_argument("--nofsync-variants", action="store_true",
                    help="also run omnidrop with OMNIDROP_FSYNC=false (the peers never fsync)")
    ap.add_argument("--omnidrop-bin", type=Path, default=DEFAULT_OMNIDROP,
                    help=f"omnidrop executable (default {DEFAULT_OMNIDROP.relative_to(REPO)})")
    ap.add_argument("--data-root", type=Path, default=DEFAULT_DATA,
                    help="inputs and server data dirs (default bench/uploads/data)")
    ap.add_argument("--keep-data", action="store_true", help="keep what the servers stored")
    return ap.parse_args(argv)


def select(items: list[str], allowed: list[str], extra: dict | None = None) -> list[str]:
    out = []
    for item in items:
        for n in filter(None, (x.strip() for x in item.split(","))):
            expand = (extra or {}).get(n, [n])
            for e in expand:
                if e not in allowed:
                    raise SystemExit(f"unknown name {e!r}; choose from {', '.join(allowed)}")
                if e not in out:
                    out.append(e)
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if psutil is None:
        # Re-run inside the peer venv, which pins psutil.
        if os.environ.get("OMNIDROP_BENCH_REEXEC"):
            raise SystemExit("psutil missing even in the peer venv")
        py = ensure_peer_venv()
        log(f"psutil not importable here; re-running under {py}")
        os.environ["OMNIDROP_BENCH_REEXEC"] = "1"
        os.environ["OMNIDROP_BENCH_PYTHON"] = sys.executable
        os.execv(str(py), [str(py), str(Path(__file__).resolve()), *argv])
    args = parse_args(argv)
    args.omnidrop_bin = args.omnidrop_bin.absolute()
    signal.signal(signal.SIGTERM, _on_sigterm)

    names = list(DEFAULT_SERVERS)
    if args.nofsync_variants:
        names += ["omnidrop-uvicorn-nofsync", "omnidrop-granian-nofsync"]
    if args.only:
        names = select(args.only, list(SERVERS), {"omnidrop": [n for n in names if n.startswith("omnidrop")]
                                                  or ["omnidrop-uvicorn", "omnidrop-granian"]})
    scenarios = select(args.scenario, SCENARIOS) if args.scenario else list(SCENARIOS)
    sizes = Sizes.for_args(args.quick)
    if args.clients:
        sizes.clients = args.clients
    if args.client_mib:
        sizes.client_size = args.client_mib * MiB

    if shutil.which("curl") is None:
        raise SystemExit("curl not found")
    if "tus-node" in names:
        if shutil.which("node") is None:
            raise SystemExit("node not found (need >= 20.19 for @tus/server)")
        ensure_node_peer()
    if "tuspyserver" in names:
        ensure_peer_venv()
    missing_omnidrop = any(n.startswith("omnidrop") for n in names) and not Path(args.omnidrop_bin).exists()
    if missing_omnidrop:
        log(f"omnidrop not found at {args.omnidrop_bin}: its rows will fail")

    data_root = args.data_root.resolve()
    inputs_dir = data_root / "inputs"
    inputs: dict = {}
    if {"single", "chunked"} & set(scenarios):
        inputs["single"] = ensure_input(inputs_dir, sizes.single)
    if "chunked" in scenarios:
        inputs["chunks"] = ensure_chunks(inputs_dir, inputs["single"][0], sizes.single, CHUNK)
    if "concurrent" in scenarios:
        inputs["client"] = ensure_input(inputs_dir, sizes.client_size)
    runs = data_root / "runs" / time.strftime("%Y%m%d-%H%M%S")
    runs.mkdir(parents=True, exist_ok=True)

    exe = os.environ.get("OMNIDROP_BENCH_PYTHON", sys.executable)  # the caller's, before a re-exec
    try:
        exe = os.path.relpath(exe) if not os.path.relpath(exe).startswith("../..") else exe
    except ValueError:
        pass
    script = os.path.relpath(Path(__file__).resolve())
    command = shlex.join([exe, script, *argv])
    log(f"servers: {', '.join(names)}; scenarios: {', '.join(scenarios)}; logs in {runs}")

    raw: list[dict] = []
    # Repeats go round all rows in turn: this VM's speed drifts by the minute, and a server's runs
    # taken back to back would catch a different machine than its peer's.
    rows: dict[tuple[str, str], list[Result]] = {(n, sc): [] for n in names for sc in scenarios}
    try:
        for _ in range(args.repeat):
            for (n, sc), rs in rows.items():
                r = run_one(SERVERS[n], sc, args, sizes, inputs, runs)
                rs.append(r)
                raw.append({**asdict(r), "mib_s": r.mib_s, "cpu_s_per_gib": r.cpu_per_gib})
        results = [median_result(rs) for rs in rows.values()]
    finally:
        _reap_all()

    md = table(results, args, sizes, command, data_root)
    print(md)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(md)
        log(f"wrote {args.out}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"command": command, "runs": raw}, indent=1))
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        _reap_all()

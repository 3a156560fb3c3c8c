"""`omnidrop serve`: migrate, then supervise the HTTP server and (embedded mode) one job worker.

The parent only supervises: migrations run in a child and the server and worker are separate
processes, so signals reach each the way it expects (SIGTERM to the HTTP server, SIGINT, Huey's
graceful stop, to the worker) and the parent stays small. With no job worker there is nothing to
supervise, and `serve` becomes the HTTP server itself (exec): one process, signals straight to it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from enum import Enum
from pathlib import Path

import typer

from omnidrop.cli.runtime import apply_data_dir

APP_FACTORY = "omnidrop.app:create_app"
# uvicorn's httptools protocol plus 1xx interim responses from the app (the IETF draft's 104).
UVICORN_HTTP = "omnidrop.serving.uvicorn_http:InformationalHttpToolsProtocol"
OMNIDROP = [sys.executable, "-m", "omnidrop.cli.main"]


class ServerKind(str, Enum):
    granian = "granian"
    uvicorn = "uvicorn"


def server_command(kind: ServerKind, host: str, port: int, workers: int) -> list[str]:
    if kind is ServerKind.granian:
        return [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", host,
                "--port", str(port), "--workers", str(workers), APP_FACTORY]
    return [sys.executable, "-m", "uvicorn", "--factory", "--host", host, "--port", str(port),
            "--workers", str(workers), "--loop", "uvloop", "--http", UVICORN_HTTP, "--no-access-log", APP_FACTORY]


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="HTTP server worker processes."),
    server: ServerKind = typer.Option(ServerKind.uvicorn, help="HTTP server implementation (uvicorn measured leaner; see the Benchmarks page of the docs)."),
    data_dir: Path | None = typer.Option(None, envvar="OMNIDROP_DATA_DIR", help="Where the SQLite file and blobs live."),
) -> None:
    """Run the server. With no configuration: SQLite and blobs under ./omnidrop-data, jobs in a child worker."""
    settings = apply_data_dir(data_dir)
    # Once, before anything starts, so server processes never race on DDL.
    if subprocess.run([*OMNIDROP, "db", "upgrade"], stdout=subprocess.DEVNULL, check=False).returncode != 0:
        raise typer.Exit(1)
    worker = [*OMNIDROP, "worker"] if settings.embedded_worker else None
    share_metrics(settings.data_dir)
    typer.echo(f"omnidrop on http://{host}:{port} (data in {settings.data_dir.resolve()}, {server.value})", err=True)
    command = server_command(server, host, port, workers)
    if worker is None:  # a supervisor of one process would only add its own ~38 MiB
        sys.stderr.flush()
        os.execv(command[0], command)
    raise typer.Exit(Supervisor(command, worker).run())


def share_metrics(data_dir: Path) -> None:
    """Every process of this tree (HTTP workers, the job worker) writes its metrics into one folder that
    /metrics adds up (prometheus-client's multiprocess mode; the children inherit the variable). It is
    emptied first: a previous run's counters would otherwise be added to this one's."""
    folder = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(data_dir.resolve() / "metrics")))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


class Supervisor:
    """Keeps the HTTP server and the job worker running; a dead worker is restarted (jobs survive it:
    their leases lapse and the sweep re-runs them), a dead server ends `serve`."""

    RESTART_DELAY = 2.0

    def __init__(self, server: list[str], worker: list[str] | None) -> None:
        self.server_cmd, self.worker_cmd = server, worker
        self.server: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.stopping = False

    def stop(self, *_: object) -> None:
        self.stopping = True
        # SIGTERM is the HTTP servers' graceful stop; SIGINT is Huey's (finish running jobs).
        for proc, sig in ((self.server, signal.SIGTERM), (self.worker, signal.SIGINT)):
            if proc is not None and proc.poll() is None:
                proc.send_signal(sig)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        if self.worker_cmd:
            self.worker = subprocess.Popen(self.worker_cmd)
        self.server = subprocess.Popen(self.server_cmd)
        while not self.stopping and self.server.poll() is None:
            if self.worker is not None and self.worker.poll() is not None:
                typer.echo(f"omnidrop: job worker exited ({self.worker.returncode}); restarting", err=True)
                time.sleep(self.RESTART_DELAY)
                if not self.stopping:
                    self.worker = subprocess.Popen(self.worker_cmd)
            time.sleep(0.2)
        self.stop()
        codes = [self._wait(p) for p in (self.server, self.worker) if p is not None]
        return 0 if all(c in (0, -signal.SIGTERM, -signal.SIGINT) for c in codes) else 1

    @staticmethod
    def _wait(proc: subprocess.Popen) -> int:
        try:
            return proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

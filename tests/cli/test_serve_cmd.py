"""`omnidrop serve` as a supervisor: migrate, run server and worker, restart a dead worker, stop cleanly;
and, with no job worker to run, as the server itself."""

import signal
import time

import httpx
import psutil

from tests.support import projects


def worker_of(live) -> psutil.Process:
    """The live worker child (a killed one lingers as a zombie until the supervisor reaps it)."""
    workers = []
    for child in psutil.Process(live.proc.pid).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "worker" in child.cmdline():
                workers.append(child)
        except psutil.NoSuchProcess:
            continue
    (worker,) = workers
    return worker


def test_a_killed_worker_is_restarted_and_sigterm_stops_everything(servers, tmp_path):
    live = servers.start(data_dir=tmp_path / "serve")  # embedded default: SQLite, local disk, own worker
    first = worker_of(live)
    first.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            replacement = worker_of(live)
            if replacement.pid != first.pid:
                break
        except ValueError:  # between death and restart there is no worker
            pass
        time.sleep(0.2)
    else:
        raise AssertionError("the worker was not restarted")

    headers = live.headers()
    sid = projects.upload(live.api, headers, {"a.e57": b"ASTM-E57" + b"\0" * 100})
    assert projects.create(live.api, headers, upload_id=sid).status_code == 201
    assert projects.wait(live.api, headers, sid)["status"] == 100

    tree = [psutil.Process(live.proc.pid), *psutil.Process(live.proc.pid).children(recursive=True)]
    live.proc.send_signal(signal.SIGTERM)
    assert live.proc.wait(timeout=40) == 0
    gone, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive


def test_granian_serves_the_same_app(servers, tmp_path):
    live = servers.start(data_dir=tmp_path / "granian", server="granian")
    headers = live.headers()
    sid = projects.upload(live.api, headers, {"scan.e57": b"ASTM-E57" + b"\1" * 5000})
    r = httpx.put(f"{live.api}/uploads/{sid}/b.jpg", content=b"x" * 10, headers={**headers, "Content-Range": "bytes 0-9/20"})
    assert r.json() == {"received": 10, "total": 20, "complete": False}
    assert psutil.Process(live.proc.pid).children()  # server and worker under the supervisor
    live.stop()


def test_without_a_job_worker_serve_becomes_the_server(servers, tmp_path):
    live = servers.start(data_dir=tmp_path / "alone", embedded_worker=False)
    process = psutil.Process(live.proc.pid)
    assert "uvicorn" in process.cmdline() and not process.children()  # no supervisor left beside it
    headers = live.headers()
    assert httpx.post(f"{live.api}/uploads", headers=headers).status_code == 201
    live.proc.send_signal(signal.SIGTERM)
    # uvicorn stops gracefully, then re-raises the signal so its exit status tells why it stopped.
    assert live.proc.wait(timeout=40) in (0, -signal.SIGTERM)
    assert "Finished server process" in live.log()

"""`omnidrop upload` against live servers: SIGKILLed clients, a server restart, a proxy that cuts
connections mid-chunk and answers 429 and 5xx; then byte-identical files and bounded resends."""

from __future__ import annotations

import hashlib
import random
import signal
import time

import httpx
import pytest

from omnidrop.client.resume_loop import PROBE

from tests.support.client import (
    MiB,
    batch_upload_id,
    client_env,
    file_sha256,
    kill_after,
    omnidrop,
    result_json,
    run_until_done,
    small_files,
    sparse_file,
    start,
    wait_for,
)
from tests.support.proxy import HttpProxy
from tests.support.server import read_blob, stored_sha256s

GiB = 1024 * MiB
CHUNK = 8 * MiB


@pytest.fixture(scope="module")
def local_server(servers, databases):
    """A server of its own on SQLite + local disk (it gets restarted). A crashed server's lease on a file
    lapses after 6 s here rather than 30, so the client waits less for it."""
    return servers.start(database_url=databases("sqlite"), lease_ttl_seconds=6)


def test_one_gib_file_survives_sigkills_and_a_server_restart(local_server, tmp_path):
    """Killed at random points, and the server SIGKILLed and restarted under a running client: re-runs
    finish it, the stored bytes are identical, and each interruption re-sent at most the chunk in flight."""
    big = tmp_path / "scan.e57"
    digest = sparse_file(big, GiB, seed=1)
    rng = random.Random(20261201)
    log = tmp_path / "client.log"
    with HttpProxy(local_server.port) as proxy:
        env = client_env(local_server, tmp_path, url=proxy.url)
        args = ["upload", str(big), "--no-project", "--chunk-size", "8MiB", "--quiet"]
        kills = 0
        for run in range(4):
            proc = start(args, env, log)
            if run == 1:
                # The server dies mid-upload and comes back on the same port; this client rides it out.
                time.sleep(rng.uniform(1.0, 2.0))
                local_server.kill()
                path = f"/uploads/{batch_upload_id(tmp_path / 'state.json')}/scan.e57"
                before = proxy.forwarded_matching(path)
                local_server.start()
                wait_for(lambda: proxy.forwarded_matching(path) > before + CHUNK or proc.poll() is not None, 120)
                assert proc.poll() in (None, 0), log.read_text(errors="replace")[-3000:]  # it retried, not died
            if kill_after(proc, rng.uniform(0.5, 2.5)):
                kills += 1
            else:
                assert proc.returncode == 0, log.read_text(errors="replace")[-3000:]
        proc = start(args, env, log)
        assert proc.wait(timeout=600) == 0, log.read_text(errors="replace")[-3000:]
        upload_id = batch_upload_id(tmp_path / "state.json")
        sent = proxy.forwarded_matching(f"/uploads/{upload_id}/scan.e57")
        again = omnidrop([*args[:-1], "--json"], env)  # a run after the end sends nothing
        assert again.returncode == 0, again.stderr
        assert result_json(again)["upload_id"] == upload_id
        assert proxy.forwarded_matching(f"/uploads/{upload_id}/scan.e57") == sent
    assert kills >= 3
    assert stored_sha256s(local_server, upload_id) == {"scan.e57": (GiB, digest)}
    # Each killed client run, and the server's death, may lose at most the chunk that was in flight
    # (plus the small probes the client sends while the dead server's lease still holds the file).
    assert GiB <= sent <= GiB + (kills + 1) * CHUNK + 10 * PROBE


def test_ctrl_c_stops_at_once_and_a_rerun_finishes(local_server, tmp_path):
    big = tmp_path / "pano.mp4"
    digest = sparse_file(big, 96 * MiB, seed=12)
    env = client_env(local_server, tmp_path)
    args = ["upload", str(big), "--no-project", "--chunk-size", "1MiB"]
    proc = start(args, env, tmp_path / "client.log")
    wait_for(lambda: (tmp_path / "state.json").exists(), timeout=60)  # the session exists: bytes are flowing
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=15) == 130
    assert "run the same command again to resume" in (tmp_path / "client.log").read_text()
    done = omnidrop([*args, "--json"], env)
    assert done.returncode == 0, done.stderr
    result = result_json(done)
    assert result["resumed"] is True
    assert stored_sha256s(local_server, result["upload_id"]) == {"pano.mp4": (96 * MiB, digest)}


def test_five_hundred_small_files_into_one_session_through_kills(local_server, tmp_path):
    server = local_server
    expected = small_files(tmp_path / "photos", 500, seed=5)
    rng = random.Random(500)
    parallel = 8
    with HttpProxy(server.port) as proxy:
        env = client_env(server, tmp_path, url=proxy.url)
        args = ["upload", str(tmp_path / "photos"), "--parallel", str(parallel), "--quiet", "--no-project"]
        killed = run_until_done(args, env, tmp_path / "client.log", rng, kills=2, window=(0.8, 2.0))
        upload_id = batch_upload_id(tmp_path / "state.json")
        sent = proxy.forwarded_matching(f"/uploads/{upload_id}/")
    assert stored_sha256s(server, upload_id) == expected
    total = sum(size for size, _ in expected.values())
    largest = max(size for size, _ in expected.values())
    # At most one body per file in flight, `parallel` files at once, per kill.
    assert total <= sent <= total + killed * parallel * largest


@pytest.mark.parametrize("via", ["chunked", "parts"])
def test_a_cut_mid_chunk_429_and_5xx_are_retried(server, tmp_path, via):
    """The File Upload API and presigned parts, on both stores (S3's part URLs bypass omnidrop)."""
    _faults(server, tmp_path, via)


@pytest.mark.parametrize("via", ["tus", "ietf"])
def test_tus_and_the_ietf_draft_retry_a_cut_429_and_5xx(local_server, tmp_path, via):
    _faults(local_server, tmp_path, via)


def _faults(server, tmp_path, via):
    data_path = tmp_path / "walk.mp4"
    digest = sparse_file(data_path, 21 * MiB, seed=3)
    # On S3, part URLs go to S3 itself, past the proxy: there it sees only the signing calls.
    direct_parts = via == "parts" and (server.env.get("OMNIDROP_STORAGE_URL") or "").startswith("s3")
    with HttpProxy(server.port) as proxy:
        env = client_env(server, tmp_path, url=proxy.url)
        target = {"chunked": "/api/v1/uploads", "tus": "/files/", "ietf": "/files/", "parts": "/s3/multipart"}[via]
        body_path = {"chunked": "walk.mp4", "tus": "/files/", "ietf": "/files/", "parts": "/parts/"}[via]
        proxy.inject(429, {"Retry-After": "1", "Content-Type": "application/json"}, path=target,
                     body=b'{"error": "rate_limited", "retry_after": 1}')
        proxy.inject(503, path=target)
        proxy.inject(502, path="/s3/multipart/" if direct_parts else body_path)
        if not direct_parts:
            proxy.cut_next(body_path, after=3 * MiB)
        done = omnidrop(["upload", str(data_path), "--via", via, "--chunk-size", "5MiB", "--json", "--no-project"], env)
        assert done.returncode == 0, done.stderr
        assert sorted(status for _, _, status in proxy.injected) == [429, 502, 503]
        assert proxy.cuts == (0 if direct_parts else 1)
    result = result_json(done)
    assert result["ok"] and result["files"][0]["ok"]
    if via == "chunked":
        assert stored_sha256s(server, result["upload_id"])["walk.mp4"] == (21 * MiB, digest)
    else:
        fetched = tmp_path / "back"
        _download(server, via, result["files"][0]["location"], fetched)
        assert file_sha256(fetched) == digest


@pytest.mark.parametrize("via", ["tus", "parts"])
def test_parts_and_tus_uploads_store_the_bytes(server, tmp_path, via):
    env = client_env(server, tmp_path)
    f = tmp_path / "cloud.ply"
    sparse_file(f, 11 * MiB, seed=4)
    done = omnidrop(["upload", str(f), "--via", via, "--chunk-size", "5MiB", "--json"], env)
    assert done.returncode == 0, done.stderr
    location = result_json(done)["files"][0]["location"]
    if via == "parts":
        assert hashlib.sha256(read_blob(server, location)).hexdigest() == file_sha256(f)
    else:
        head = httpx.head(location, headers={**server.headers(), "Tus-Resumable": "1.0.0"})
        assert head.headers["upload-offset"] == head.headers["upload-length"] == str(11 * MiB)


def _download(server, via, location, into):
    """The bytes the server stored for a tus/IETF upload or a Companion object."""
    from tests.support.server import read_blob

    if via == "parts":
        into.write_bytes(read_blob(server, location))
        return
    import asyncio

    from sqlalchemy import select

    from omnidrop.db.engine import Database
    from omnidrop.db.models import UploadFile
    from omnidrop.settings import Settings

    upload_id = location.rstrip("/").rsplit("/", 1)[-1]
    url = Settings(data_dir=server.data_dir, database_url=server.env.get("OMNIDROP_DATABASE_URL")).resolved_database_url

    async def key() -> str:
        db = Database(url)
        try:
            async with db.read() as s:
                return await s.scalar(select(UploadFile.blob_key).where(UploadFile.session_id == upload_id))
        finally:
            await db.dispose()

    into.write_bytes(read_blob(server, asyncio.run(key())))

"""Crash and multi-process behaviour of the upload core, through real server processes."""

import hashlib
import os
import threading
import time

import httpx

from tests.support.server import stored_bytes

MiB = 1024 * 1024


def resume_upload(api: str, headers: dict, sid: str, name: str, data: bytes, chunk: int = 4 * MiB) -> dict:
    """The spec's resume-safe pseudocode: ask for `received`, PUT from there, resync on 409."""
    r = httpx.get(f"{api}/uploads/{sid}/{name}", headers=headers)
    received = r.json()["received"] if r.status_code == 200 else 0
    body = {}
    while received < len(data):
        piece = data[received : received + chunk]
        r = httpx.put(f"{api}/uploads/{sid}/{name}", content=piece, timeout=60, headers={
            **headers, "Content-Type": "application/octet-stream",
            "Content-Range": f"bytes {received}-{received + len(piece) - 1}/{len(data)}"})
        if r.status_code == 409:
            received = r.json()["received"]
            time.sleep(0.2)
            continue
        r.raise_for_status()
        body = r.json()
        received = body["received"]
    return body


def test_sigkill_mid_upload_then_resume_is_byte_identical(servers, backend, tmp_path):
    # Each database and each store once, paired as in the rest of the live suite.
    extra = {"storage_url": backend.store_url} if backend.store_url else {}
    live = servers.start(database_url=backend.database_url, data_dir=tmp_path / "crash", lease_ttl_seconds=3,
                         lease_wait_seconds=1, **extra)
    headers = live.headers()
    data = os.urandom(24 * MiB)
    sid = httpx.post(f"{live.api}/uploads", headers=headers).json()["upload_id"]
    first = httpx.put(f"{live.api}/uploads/{sid}/walk.mp4", content=data[: 8 * MiB], timeout=60, headers={
        **headers, "Content-Range": f"bytes 0-{8 * MiB - 1}/{len(data)}"}).json()
    assert first["received"] == 8 * MiB

    sent_enough = threading.Event()

    def body():
        yield data[8 * MiB : 12 * MiB]
        sent_enough.set()
        time.sleep(30)  # the server dies while waiting for the rest
        yield data[12 * MiB : 16 * MiB]

    def doomed_put():
        try:
            httpx.put(f"{live.api}/uploads/{sid}/walk.mp4", content=body(), timeout=60, headers={
                **headers, "Content-Range": f"bytes {8 * MiB}-{16 * MiB - 1}/{len(data)}",
                "Content-Length": str(8 * MiB)})
        except httpx.HTTPError:
            pass

    t = threading.Thread(target=doomed_put, daemon=True)
    t.start()
    assert sent_enough.wait(30)
    time.sleep(0.5)
    live.kill()
    live.start()

    received = httpx.get(f"{live.api}/uploads/{sid}/walk.mp4", headers=headers).json()["received"]
    assert received == 8 * MiB  # exactly the acknowledged prefix, never the half-chunk that died
    if backend.store_url is None:  # S3 shows no object until the multipart upload completes
        assert stored_bytes(live, sid, "walk.mp4")[:received] == data[:received]
    done = resume_upload(live.api, headers, sid, "walk.mp4", data)
    assert done == {"received": len(data), "total": len(data), "complete": True}
    assert hashlib.sha256(stored_bytes(live, sid, "walk.mp4")).digest() == hashlib.sha256(data).digest()
    live.stop()


def test_two_server_processes_on_one_database_never_interleave(servers, db_url, tmp_path):
    shared = tmp_path / "shared"
    a = servers.start(database_url=db_url, data_dir=shared, lease_wait_seconds=0.2)
    b = servers.start(database_url=db_url, data_dir=shared, lease_wait_seconds=0.2)
    headers = a.headers()
    sid = httpx.post(f"{a.api}/uploads", headers=headers).json()["upload_id"]
    size = 2 * MiB
    contents = [bytes([i]) * size for i in range(1, 7)]
    results = []

    def writer(i: int):
        api = (a if i % 2 else b).api

        def slow():
            for off in range(0, size, 256 * 1024):
                yield contents[i][off : off + 256 * 1024]
                time.sleep(0.01)

        r = httpx.put(f"{api}/uploads/{sid}/race.ply", content=slow(), timeout=60,
                      headers={**headers, "Content-Length": str(size)})
        results.append((r.status_code, r.json()))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(contents))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(code for code, _ in results)
    assert 200 in statuses
    assert set(statuses) <= {200, 409}
    assert all(body["error"] == "upload_in_progress" for code, body in results if code == 409)
    assert stored_bytes(a, sid, "race.ply") in contents  # one writer's bytes, never a mix
    a.stop()
    b.stop()

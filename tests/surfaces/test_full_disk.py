"""A full disk, on a tiny tmpfs under a live server (SQLite and blobs in its data dir): writes past the
space are refused in each API's error shape with 507, nothing stored before is lost, and deleting frees
the disk through the API (the disk reserve gives SQLite room to commit). Needs root to mount."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import LiveServer, stored_bytes

MiB = 1024 * 1024


@pytest.fixture
def tiny_disk(tmp_path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def live(servers, tiny_disk) -> Iterator[LiveServer]:
    server = servers.start(data_dir=tiny_disk / "data", embedded_worker=False, disk_reserve_bytes=MiB)
    try:
        yield server
    finally:
        server.stop()


def test_a_full_disk_is_refused_in_each_shape_and_can_be_freed_by_deleting(live, tiny_disk):
    reserve = tiny_disk / "data" / "disk-reserve"
    assert reserve.stat().st_size == MiB
    first = os.urandom(MiB)
    with httpx.Client(base_url=live.api, headers=live.headers(), timeout=60) as c:
        sid = c.post("/uploads").json()["upload_id"]
        assert c.put(f"/uploads/{sid}/first.jpg", content=first).status_code == 200
        r = c.put(f"/uploads/{sid}/big.jpg", content=os.urandom(16 * MiB))
        assert r.status_code == 507 and r.json() == {"error": "insufficient_storage"}, r.text
        assert not reserve.exists()  # released, so the database could record what happened
        files = {f["name"]: f for f in c.get(f"/uploads/{sid}").json()["files"]}
        assert files["first.jpg"] == {"name": "first.jpg", "received": MiB, "total": MiB, "complete": True}
        assert stored_bytes(live, sid, "first.jpg") == first
        # Until space is freed, other writes are refused too: tus in its text shape ...
        r = httpx.post(f"{live.url}/files/", headers={**live.headers(), "Tus-Resumable": "1.0.0",
                                                      "Upload-Length": "1000", "Content-Length": "0"})
        assert r.status_code == 201, r.text
        r = httpx.patch(r.headers["location"], content=b"x" * 1000, headers={
            **live.headers(), "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream"})
        assert r.status_code == 507 and r.headers["tus-resumable"] == "1.0.0"
        assert r.text.startswith("insufficient_storage")
        # ... and a presigned part PUT in S3's XML.
        captures = {"Authorization": f"Bearer {live.key('captures')}"}
        eid = httpx.post(f"{live.url}/api/v1/captures", json={"name": "c", "bytesize": 1000},
                         headers=captures).json()["eid"]
        url = httpx.post(f"{live.url}/api/v1/captures/{eid}/create-upload-url/1", json={"eid": eid, "bytesize": 1000},
                         headers=captures).json()["upload_url"]
        r = httpx.put(url, content=b"y" * 1000)
        assert r.status_code == 507 and b"<Code>InsufficientStorage</Code>" in r.content, r.text
        # Deleting works on the full disk, frees it, and uploads take bytes again.
        r = c.delete(f"/uploads/{sid}")
        assert r.status_code == 200 and r.json() == {"deleted": True}, r.text
        assert c.get(f"/uploads/{sid}").status_code == 404
        sid = c.post("/uploads").json()["upload_id"]
        data = os.urandom(MiB)
        r = c.put(f"/uploads/{sid}/again.jpg", content=data)
        assert r.status_code == 200 and r.json()["complete"], r.text
        assert hashlib.sha256(stored_bytes(live, sid, "again.jpg")).digest() == hashlib.sha256(data).digest()
        assert reserve.stat().st_size == MiB  # taken again before the new bytes went in
    assert "Traceback" not in live.log()

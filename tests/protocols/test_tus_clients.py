"""Real tus clients, unchanged, against a live server: tuspy (PyPI) and tus-js-client (npm, on node).

Each uploads, pauses and resumes (a new client object continuing from the server's offset), survives
a cut connection, and finishes with byte-identical files; tus-js-client also uploads in parallel
(concatenation) and over the IETF draft.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from tusclient import client as tus_client

from tests.support.resumable import CutOnceProxy, uploaded_bytes

JS = Path(__file__).resolve().parents[1] / "js"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def live(servers, db_url):
    return servers.start(database_url=db_url)


@pytest.fixture
def capture(tmp_path) -> Path:
    path = tmp_path / "capture.insv"
    path.write_bytes(os.urandom(3 * MiB + 12345))
    return path


# -- tuspy -----------------------------------------------------------------------------------------


def test_tuspy_uploads_with_checksums(live, capture):
    client = tus_client.TusClient(f"{live.url}/files/", headers=live.headers())
    uploader = client.uploader(str(capture), chunk_size=MiB, metadata={"filename": capture.name},
                               upload_checksum=True)
    uploader.upload()
    assert uploaded_bytes(live, _path(uploader.url)) == capture.read_bytes()


def test_tuspy_pauses_and_a_new_client_resumes(live, capture):
    client = tus_client.TusClient(f"{live.url}/files/", headers=live.headers())
    first = client.uploader(str(capture), chunk_size=MiB)
    first.upload_chunk()  # then the app stops
    resumed = tus_client.TusClient(f"{live.url}/files/", headers=live.headers()).uploader(
        str(capture), chunk_size=MiB, url=first.url)
    assert resumed.offset == MiB  # learned from the server with HEAD
    resumed.upload()
    assert uploaded_bytes(live, _path(first.url)) == capture.read_bytes()


def test_tuspy_resumes_after_a_cut_connection(live, capture):
    with CutOnceProxy(live.port, at=MiB + MiB // 2) as proxy:
        client = tus_client.TusClient(f"{proxy.url}/files/", headers=live.headers())
        uploader = client.uploader(str(capture), chunk_size=2 * MiB, retries=5, retry_delay=1)
        uploader.upload()
        assert proxy.cuts == 1
    assert uploaded_bytes(live, _path(uploader.url)) == capture.read_bytes()


# -- tus-js-client ---------------------------------------------------------------------------------


def run_js(tmp_path: Path, **config) -> dict:
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "tus-js-client").is_dir():
        pytest.fail("node and tests/js/node_modules are needed: run scripts/test (it runs npm ci in tests/js)")
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    done = subprocess.run([node, str(JS / "upload.mjs"), str(cfg)], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("protocol", ["tus-v1", "ietf-draft-03", "ietf-draft-05"])
def test_tus_js_client_uploads(live, capture, tmp_path, protocol):
    out = run_js(tmp_path, endpoint=f"{live.url}/files/", file=str(capture), token=live.key(), protocol=protocol,
                 chunkSize=MiB)
    assert uploaded_bytes(live, _path(out["url"])) == capture.read_bytes()


@pytest.mark.parametrize("protocol", ["tus-v1", "ietf-draft-05"])
def test_tus_js_client_pauses_and_resumes(live, capture, tmp_path, protocol):
    out = run_js(tmp_path, endpoint=f"{live.url}/files/", file=str(capture), token=live.key(), protocol=protocol,
                 chunkSize=MiB, pauseAfterChunks=2)
    assert out["paused"]
    assert uploaded_bytes(live, _path(out["url"])) == capture.read_bytes()


@pytest.mark.parametrize("protocol", ["tus-v1", "ietf-draft-05"])
def test_tus_js_client_resumes_after_a_cut_connection(live, capture, tmp_path, protocol):
    with CutOnceProxy(live.port, at=MiB + MiB // 2) as proxy:
        out = run_js(tmp_path, endpoint=f"{proxy.url}/files/", file=str(capture), token=live.key(),
                     protocol=protocol, chunkSize=2 * MiB)
        assert proxy.cuts == 1
    assert uploaded_bytes(live, _path(out["url"])) == capture.read_bytes()


def test_tus_js_client_parallel_uploads_use_concatenation(live, capture, tmp_path):
    out = run_js(tmp_path, endpoint=f"{live.url}/files/", file=str(capture), token=live.key(), parallelUploads=3)
    assert uploaded_bytes(live, _path(out["url"])) == capture.read_bytes()


def _path(url: str) -> str:
    import httpx

    return httpx.URL(url).path

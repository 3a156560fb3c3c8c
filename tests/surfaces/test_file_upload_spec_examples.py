"""The File Upload API document's own examples, run verbatim with only BASE and the key changed."""

import hashlib
import os
import subprocess

import pytest
import requests

from tests.support import projects
from tests.support.proxy import CuttingProxy
from tests.support.server import stored_bytes
from tests.support.spec_examples import file_upload_curl, file_upload_python

SPEC_BASE = "https://360-for-you.com/api/v1"
MiB = 1024 * 1024


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_python_example(spec_dir, base: str, key: str, monkeypatch) -> dict:
    """Run the example's definitions. Its last two lines create a project (the projects API) and are
    called separately by the tests that need them."""
    source = file_upload_python(spec_dir).replace(SPEC_BASE, base)
    definitions = source.rsplit("\nslug = create_project(", 1)[0]
    monkeypatch.setenv("API_KEY", key)
    namespace: dict = {}
    exec(compile(definitions, "file-upload-api.md example", "exec"), namespace)
    return namespace


def test_python_example_runs_whole_and_the_project_reaches_100(server, spec_dir, tmp_path, monkeypatch, capsys):
    """The example exactly as published: two files up, a project created, its URL printed."""
    monkeypatch.chdir(tmp_path)
    scans = {"floor-1.e57": b"ASTM-E57" + os.urandom(9 * MiB), "floor-2.e57": b"ASTM-E57" + os.urandom(1000)}
    for name, data in scans.items():
        (tmp_path / name).write_bytes(data)
    monkeypatch.setenv("API_KEY", server.key())
    source = file_upload_python(spec_dir).replace(SPEC_BASE, server.api)
    exec(compile(source, "file-upload-api.md example", "exec"), {})
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("https://360-for-you.com/projects/")  # the example prints the hosted site's URL
    slug = printed.rsplit("/", 1)[1]
    record = projects.wait(server.api, server.headers(), slug)
    assert record["status"] == 100 and record["title"] == "Building scan"
    assert {f["name"]: f["sha256"] for f in record["files"]} == {n: sha(d) for n, d in scans.items()}


def test_python_example_uploads_one_and_many_files(server, spec_dir, tmp_path, monkeypatch):
    ex = load_python_example(spec_dir, server.api, server.key(), monkeypatch)
    monkeypatch.chdir(tmp_path)
    files = {"floor-1.e57": os.urandom(20 * MiB + 12345), "floor-2.e57": os.urandom(3 * MiB), "tiny.jpg": b"\xff\xd8"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    upload_id = ex["s"].post(f"{server.api}/uploads").json()["upload_id"]
    for name in files:
        ex["upload_file"](upload_id, name)
    listing = ex["s"].get(f"{server.api}/uploads/{upload_id}").json()["files"]
    assert all(f["complete"] for f in listing) and len(listing) == 3
    for name, data in files.items():
        assert sha(stored_bytes(server, upload_id, name)) == sha(data)
    # Running it again is a no-op resume: the server already has everything.
    ex["upload_file"](upload_id, "floor-1.e57")


def test_python_example_resumes_after_the_connection_is_cut_mid_chunk(server, spec_dir, tmp_path, monkeypatch):
    data = os.urandom(30 * MiB)
    (tmp_path / "scan.e57").write_bytes(data)
    monkeypatch.chdir(tmp_path)
    with CuttingProxy(server.port) as proxy:
        ex = load_python_example(spec_dir, f"{proxy.url}/api/v1", server.key(), monkeypatch)
        upload_id = requests.post(f"{server.api}/uploads", headers=server.headers()).json()["upload_id"]
        proxy.cut_after = 12 * MiB  # per connection: inside the example's second 8 MiB chunk
        with pytest.raises(requests.ConnectionError):
            ex["upload_file"](upload_id, "scan.e57")
        assert proxy.cuts >= 1
        proxy.cut_after = None
        ex["s"] = requests.Session()  # a fresh connection pool, as a restarted client would have
        ex["s"].headers["Authorization"] = f"Bearer {server.key()}"
        received = ex["s"].get(f"{proxy.url}/api/v1/uploads/{upload_id}/scan.e57").json()["received"]
        assert 8 * MiB <= received < 12 * MiB  # the first chunk, plus what arrived of the cut one
        ex["upload_file"](upload_id, "scan.e57")
    assert sha(stored_bytes(server, upload_id, "scan.e57")) == sha(data)


def run_shell(script: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


def test_curl_examples_big_file_chunks_and_many_small_files(server, spec_dir, tmp_path):
    big, small = file_upload_curl(spec_dir)
    header = f"KEY={server.key()}; BASE={server.api}"
    big = big.replace("KEY=sk_...; BASE=https://360-for-you.com/api/v1", header)
    total = 524288000
    part = 104857600
    # One file of 500 MiB in five 100 MiB slices; the document's command sends the first.
    block = os.urandom(MiB)
    digest = hashlib.sha256()
    for i in range(5):
        data = block[i:] + block[:i]
        with open(tmp_path / f"scan.e57.part{i}", "wb") as f:
            for _ in range(part // MiB):
                f.write(data)
                digest.update(data)
    # The rest of the slices "advancing the range", as the comment says, and the resume GET it names.
    rest = "".join(
        f'curl -sf -X PUT "$BASE/uploads/$ID/scan.e57" -H "Authorization: Bearer $KEY" '
        f'-H "Content-Type: application/octet-stream" '
        f'-H "Content-Range: bytes {i * part}-{(i + 1) * part - 1}/{total}" --data-binary @scan.e57.part{i}\n'
        for i in range(1, 5)
    )
    # The document's snippet: session, first slice, project. Running the project step last means
    # inserting the remaining slices before it.
    head, project_step = big.split("curl -X POST $BASE/projects", 1)
    script = head + rest + 'echo "ID=$ID"\n' + "curl -X POST $BASE/projects" + project_step
    done = run_shell(script, tmp_path)
    assert done.returncode == 0, done.stderr
    assert f'"received":{part},"total":{total},"complete":false' in done.stdout  # the document's own chunk
    upload_id = done.stdout.split("ID=", 1)[1].split()[0]
    assert done.stdout.rstrip().endswith(f'{{"name":"{upload_id}","status":0,"message":"processing_started"}}')
    assert sha(stored_bytes(server, upload_id, "scan.e57")) == digest.hexdigest()
    assert projects.wait(server.api, server.headers(), upload_id)["files"][0]["sha256"] == digest.hexdigest()

    photos = {f"IMG_{i:04d}.jpg": os.urandom(1000 + i) for i in range(12)}
    for name, data in photos.items():
        (tmp_path / name).write_bytes(data)
    done = run_shell(header + "\n" + small, tmp_path)
    assert done.returncode == 0, done.stderr
    upload_id = done.stdout.rsplit('"name":"', 1)[1].split('"', 1)[0]  # from the project the snippet created
    for name, data in photos.items():
        assert stored_bytes(server, upload_id, name) == data
    record = projects.wait(server.api, server.headers(), upload_id)
    assert record["title"] == "Photoset"
    assert sorted(f["name"] for f in record["files"]) == sorted(photos)

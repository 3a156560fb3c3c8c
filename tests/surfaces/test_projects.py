"""Projects over HTTP against live servers with a real job worker: every path and error code."""

import hashlib
import io
import os
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from PIL import Image

from tests.pipeline import samples
from tests.support import projects
from tests.support.server import run_cli


def jpeg(seed: int, size=(640, 320)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (seed * 37 % 256, seed * 91 % 256, 120)).save(out, "JPEG")
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def api(server):
    return server.api, server.headers()


def by_name(record: dict) -> dict:
    return {f["name"]: f for f in record["files"]}


def test_images_become_a_ready_project_with_the_full_record(api, server):
    base, headers = api
    photos = {f"IMG_{i}.jpg": jpeg(i) for i in range(3)}
    sid = projects.upload(base, headers, photos)
    r = projects.create(base, headers, upload_id=sid, title="Photoset", privacy_mode=2, anonymize=True)
    assert r.status_code == 201
    assert r.json() == {"name": sid, "status": 0, "message": "processing_started"}
    record = projects.wait(base, headers, sid)
    assert record["status"] == 100 and record["state"] == "ready"
    assert all(s < 100 for s in record["_seen"][:-1])
    assert (record["title"], record["privacy_mode"], record["options"]) == ("Photoset", 2, {"anonymize": True})
    files = by_name(record)
    assert set(files) == set(photos)
    for name, data in photos.items():
        f = files[name]
        assert (f["size"], f["type"], f["mime"], f["sha256"]) == (len(data), "image", "image/jpeg", sha(data))
        assert f["details"]["equirectangular"] is True  # 2:1
        thumb = httpx.get(f["assets"]["thumbnail"], headers=headers)
        assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.content)).size == (512, 256)
        whole = httpx.get(f["url"], headers=headers)
        assert whole.content == data
        part = httpx.get(f["url"], headers={**headers, "Range": "bytes=10-19"})
        assert (part.status_code, part.content) == (206, data[10:20])
    # The session is now the project's: it no longer takes uploads.
    assert httpx.get(f"{base}/uploads/{sid}", headers=headers).status_code == 404


@pytest.mark.parametrize("fmt", ["zip", "7z", "rar"])
def test_archives_with_nested_folders_are_unpacked_flat(api, tmp_path, fmt):
    base, headers = api
    inner = {"floor1/pano 01.jpg": jpeg(1), "floor1/detail/pano_02.jpg": jpeg(2), "floor2/pano 01.jpg": jpeg(3)}
    path = tmp_path / f"set.{fmt}"
    if fmt == "zip":
        samples.write_zip(path, inner)
    elif fmt == "7z":
        samples.write_libarchive(path, "7zip", list(inner.items()))
    else:
        samples.write_rar4(path, [(name.replace("/", "\\"), data, None) for name, data in inner.items()])
    sid = projects.upload(base, headers, {path.name: path})
    assert projects.create(base, headers, upload_id=sid).status_code == 201
    record = projects.wait(base, headers, sid)
    assert record["status"] == 100, record
    files = by_name(record)
    assert files[path.name]["type"] == "archive"
    unpacked = {f["origin"].split(":", 1)[1]: f for f in record["files"] if ":" in f["origin"]}
    assert set(unpacked) == set(inner)
    for entry, data in inner.items():
        assert unpacked[entry]["sha256"] == sha(data)
        assert "/" not in unpacked[entry]["name"]
    assert len({f["name"] for f in record["files"]}) == len(record["files"])


def hostile(tmp_path, kind):
    if kind == "zip_slip":
        return samples.write_zip(tmp_path / "slip.zip", {"ok.jpg": b"x", "../../evil.jpg": b"owned"})
    if kind == "absolute":
        return samples.write_libarchive(tmp_path / "abs.7z", "7zip", [("/tmp/omnidrop-evil.jpg", b"owned")])
    if kind == "symlink":
        return samples.zip_symlink(tmp_path / "link.zip", "escape", "/etc/passwd")
    if kind == "hardlink":
        return samples.write_tar(tmp_path / "hard.tar", [
            (samples.tar_member("a.jpg"), b"x"), (samples.tar_member("b.jpg", tarfile.LNKTYPE, "/etc/passwd"), None)])
    if kind == "bomb":
        # An allowed extension: an entry the allow-list keeps out is never decompressed at all.
        return samples.write_zip_bomb(tmp_path / "bomb.zip", 1024, name=b"cloud.xyz")
    if kind == "deep":
        return samples.nested_zip(tmp_path / "deep.zip", 6, {"x.jpg": b"x"})
    if kind == "corrupt":
        good = samples.write_zip(tmp_path / "c.zip", {f"f{i}.jpg": os.urandom(5000) for i in range(4)}).read_bytes()
        path = tmp_path / "corrupt.zip"
        path.write_bytes(good[: len(good) // 2] + b"\0" * 100 + good[len(good) // 2 + 100 :])
        return path
    if kind == "rar_noise":  # a RAR signature, then random bytes
        path = tmp_path / "noise.rar"
        path.write_bytes(b"Rar!\x1a\x07\x01\x00" + os.urandom(4000))
        return path
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "code"),
    [("zip_slip", "archive_unsafe_path"), ("absolute", "archive_unsafe_path"), ("symlink", "archive_link"),
     ("hardlink", "archive_link"), ("bomb", "archive_ratio_exceeded"), ("deep", "archive_too_deep"),
     ("corrupt", "archive_corrupt"), ("rar_noise", "archive_corrupt")],
)
def test_hostile_archives_fail_the_project_with_a_reason_and_write_nothing_outside(api, server, tmp_path, kind, code):
    base, headers = api
    path = hostile(tmp_path, kind)
    name = path.name if path.suffix in (".zip", ".7z", ".tar") else path.name + ".zip"
    sid = projects.upload(base, headers, {name: path})
    assert projects.create(base, headers, upload_id=sid).status_code == 201
    record = projects.wait(base, headers, sid)
    assert record["state"] == "failed" and record["status"] == 100  # a spec client's poll loop ends
    assert record["files"] == [] and record["ready_at"] is None and record["source"] == {"upload_id": sid}
    r = httpx.get(f"{base}/projects/{sid}/files/{name}", headers=headers)
    assert r.status_code == 404  # nothing of a failed project is served
    assert record["error"] == code, record
    assert record["message"]
    assert not (server.data_dir.parent / "evil.jpg").exists()
    assert not os.path.exists("/tmp/omnidrop-evil.jpg")
    project_blobs = server.data_dir / "blobs" / "projects"
    assert not any(p.name.endswith(("evil.jpg", "escape")) for p in project_blobs.rglob("*")) if project_blobs.exists() else True


def test_creation_errors(api, server):
    base, headers = api
    cases = [
        ({}, 400, "upload_id_or_download_link_required"),
        ({"upload_id": "abcdef123456", "download_link": "https://example.org/x.zip"}, 400,
         "provide_either_upload_id_or_download_link"),
        ({"upload_id": "no"}, 400, "invalid_upload_id"),
        ({"upload_id": "Zz0000000000"}, 404, "upload_session_not_found"),
        ({"download_link": "ftp://example.org/x.zip"}, 400, "invalid_download_link"),
    ]
    for body, status, code in cases:
        r = projects.create(base, headers, **body)
        assert (r.status_code, r.json()["error"]) == (status, code), body
    sid = httpx.post(f"{base}/uploads", headers=headers).json()["upload_id"]
    r = projects.create(base, headers, upload_id=sid)
    assert (r.status_code, r.json()["error"]) == (400, "project_creation_failed")  # no files
    httpx.put(f"{base}/uploads/{sid}/a.jpg", content=b"xx", headers={**headers, "Content-Range": "bytes 0-1/10"})
    r = projects.create(base, headers, upload_id=sid)
    assert r.status_code == 400 and r.json() == {"error": "project_creation_failed", "files": ["a.jpg"]}
    r = httpx.get(f"{base}/projects/nope", headers=headers)
    assert (r.status_code, r.json()["error"]) == (404, "project_not_found")
    r = httpx.get(f"{base}/projects/nope", headers=server.headers("projects:write"))
    assert (r.status_code, r.json()["error"]) == (403, "insufficient_scope")


def test_quota_and_tariff(server):
    owner = f"plan-{os.urandom(3).hex()}"
    headers = server.headers(owner=owner)
    base = server.api
    sid = projects.upload(base, headers, {"a.jpg": b"x" * 600})
    assert run_cli(["owners", "set", owner, "--quota", "1000"], server.env).returncode == 0
    r = httpx.put(f"{base}/uploads/{sid}/b.jpg", content=b"y" * 500, headers=headers)
    assert r.status_code == 402 and r.json() == {"error": "storage_quota_exceeded", "limit": 1000, "used": 600}
    assert run_cli(["owners", "set", owner, "--quota", "600B"], server.env).returncode == 0
    r = httpx.post(f"{base}/uploads", headers=headers)
    assert (r.status_code, r.json()["error"]) == (402, "storage_quota_exceeded")
    r = projects.create(base, headers, upload_id=sid)
    assert (r.status_code, r.json()["error"]) == (402, "storage_quota_exceeded")
    done = run_cli(["owners", "set", owner, "--quota", "unlimited", "--forbid-uploads"], server.env)
    assert done.returncode == 0 and "forbidden" in done.stdout
    r = httpx.post(f"{base}/uploads", headers=headers)
    assert (r.status_code, r.json()["error"]) == (403, "tariff_forbids_upload")
    r = projects.create(base, headers, upload_id=sid)
    assert (r.status_code, r.json()["error"]) == (403, "tariff")
    listed = run_cli(["owners", "list"], server.env)
    assert owner in listed.stdout and "forbidden" in listed.stdout
    run_cli(["owners", "set", owner, "--allow-uploads"], server.env)
    assert projects.create(base, headers, upload_id=sid).status_code == 201


# Database counters on each database; Redis counters once (they never touch the database).
@pytest.mark.parametrize(("database", "counters"), [("sqlite", "database"), ("postgresql", "database"),
                                                    ("sqlite", "redis")])
def test_rate_limits_hold_across_two_server_processes(servers, databases, tmp_path, database, counters):
    db_url = databases(database)
    shared = tmp_path / "limits"
    config = {"rate_limits_enabled": True, "rate_limits": {"POST /uploads": "3/minute"}}
    if counters == "redis":
        config["redis_url"] = "redis://127.0.0.1:6379/13"
    a = servers.start(database_url=db_url, data_dir=shared, **config)
    b = servers.start(database_url=db_url, data_dir=shared, embedded_worker=False, **config)
    headers = a.headers()
    codes = [httpx.post(f"{s.api}/uploads", headers=headers).status_code for s in (a, b, a, b)]
    assert codes == [201, 201, 201, 429]
    r = httpx.post(f"{a.api}/uploads", headers=headers)
    assert r.status_code == 429
    assert r.json()["error"] == "rate_limited"
    assert 0 < int(r.headers["retry-after"]) <= 60
    # Other keys are counted on their own.
    assert httpx.post(f"{b.api}/uploads", headers=a.headers(owner="someone-else")).status_code == 201
    a.stop()
    b.stop()


class Origin(BaseHTTPRequestHandler):
    body = b""

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/zeros/"):  # /zeros/<bytes>/<name>
            size = int(self.path.split("/")[2])
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            for _ in range(size // 65536):
                self.wfile.write(bytes(65536))
            self.wfile.write(bytes(size % 65536))
            return
        if self.path.startswith("/named?"):  # the body, under the Content-Disposition given in `cd`
            from urllib.parse import parse_qs, urlsplit

            self.send_response(200)
            self.send_header("Content-Length", str(len(self.body)))
            self.send_header("Content-Disposition", parse_qs(urlsplit(self.path).query)["cd"][0])
            self.end_headers()
            self.wfile.write(self.body)
            return
        if self.path.startswith("/to/"):
            self.send_response(302)
            self.send_header("Location", "http://" + self.path.removeprefix("/to/"))
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.fixture(scope="module")
def origin(tmp_path_factory):
    path = samples.write_zip(tmp_path_factory.mktemp("origin") / "scan.zip", {"a/b.jpg": jpeg(7), "c.jpg": jpeg(8)})
    Origin.body = path.read_bytes()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_download_link_from_an_allowed_local_server(servers, db_url, origin):
    live = servers.start(database_url=db_url, download_allow=["127.0.0.1/32"])
    headers = live.headers()
    r = projects.create(live.api, headers, download_link=f"{origin}/scans/site%20scan.zip")
    assert r.status_code == 201
    record = projects.wait(live.api, headers, r.json()["name"])
    assert record["status"] == 100, record
    assert record["source"] == {"download_link": f"{origin}/scans/site%20scan.zip"}
    assert record["title"] == "site scan"
    assert sorted(f["name"] for f in record["files"]) == ["a_b.jpg", "c.jpg", "site scan.zip"]
    live.stop()


@pytest.mark.parametrize("target", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "redirect"])
def test_download_link_to_private_addresses_fails_the_project(server, origin, target):
    base, headers = server.api, server.headers()
    port = origin.rsplit(":", 1)[1]
    link = {"127.0.0.1": f"http://127.0.0.1:{port}/scan.zip", "10.0.0.1": "http://10.0.0.1/scan.zip",
            "169.254.169.254": "http://169.254.169.254/latest/meta-data/",
            "redirect": f"http://127.0.0.1:{port}/to/169.254.169.254/latest/"}[target]
    r = projects.create(base, headers, download_link=link)
    assert r.status_code == 201
    record = projects.wait(base, headers, r.json()["name"])
    assert record["state"] == "failed" and record["error"] == "download_failed"
    assert "non-public address" in record["message"]


def _used_bytes(server, owner: str) -> int:
    done = run_cli(["owners", "set", owner], server.env)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.rsplit("using ", 1)[1].split()[0])


def test_unpacked_bytes_count_against_the_quota_and_nothing_stays_half_stored(server, tmp_path):
    owner = f"unpack-quota-{os.urandom(3).hex()}"
    headers = server.headers(owner=owner)
    tag = os.urandom(3).hex()
    # ~30 KB of zip unpacking to 6 MB of zeros, under a 2 MB quota.
    archive = samples.write_zip(tmp_path / "blank.zip", {f"q{tag}/mask{i}.png": bytes(1_000_000) for i in range(6)})
    assert run_cli(["owners", "set", owner, "--quota", "2000000"], server.env).returncode == 0
    sid = projects.upload(server.api, headers, {"blank.zip": archive})
    assert projects.create(server.api, headers, upload_id=sid).status_code == 201
    record = projects.wait(server.api, headers, sid)
    assert record["state"] == "failed" and record["error"] == "storage_quota_exceeded", record
    assert "2000000" in record["message"]
    assert _used_bytes(server, owner) == archive.stat().st_size  # only the upload itself
    blobs = server.data_dir / "blobs" / "projects"
    assert not any(tag in p.name for p in blobs.rglob("*")) if blobs.exists() else True


def test_downloaded_bytes_count_against_the_quota(servers, db_url, origin):
    live = servers.start(database_url=db_url, download_allow=["127.0.0.1/32"])
    owner = f"download-quota-{os.urandom(3).hex()}"
    headers = live.headers(owner=owner)
    assert run_cli(["owners", "set", owner, "--quota", "1000000"], live.env).returncode == 0
    r = projects.create(live.api, headers, download_link=f"{origin}/zeros/5000000/scan.e57")
    assert r.status_code == 201
    record = projects.wait(live.api, headers, r.json()["name"])
    assert record["state"] == "failed" and record["error"] == "storage_quota_exceeded", record
    assert _used_bytes(live, owner) == 0
    assert not [p for p in (live.data_dir / "blobs" / "projects").rglob("*") if p.is_file()]
    # Under the quota, the same kind of download is stored.
    r = projects.create(live.api, headers, download_link=f"{origin}/zeros/600000/small.e57")
    record = projects.wait(live.api, headers, r.json()["name"])
    assert record["status"] == 100, record
    assert _used_bytes(live, owner) == 600_000
    live.stop()


def test_archive_entries_follow_the_naming_rule_and_the_allow_list(api, tmp_path):
    base, headers = api
    archive = samples.write_zip(tmp_path / "mixed.zip", {
        "photos/inv\u202eoice\u202c_gpj.exe.jpg": jpeg(1), "tools/run.exe": b"MZ", "notes.txt": b"hello",
        "ok.jpg": jpeg(2),
    })
    sid = projects.upload(base, headers, {"mixed.zip": archive})
    assert projects.create(base, headers, upload_id=sid).status_code == 201
    record = projects.wait(base, headers, sid)
    assert record["status"] == 100, record
    assert sorted(f["name"] for f in record["files"]) == ["mixed.zip", "ok.jpg", "photos_invoice_gpj.exe.jpg"]
    assert [(r["entry"], r["error"]) for r in record["refused_entries"]] == [
        ("mixed.zip:tools/run.exe", "extension_not_allowed"), ("mixed.zip:notes.txt", "extension_not_allowed")]
    for f in record["files"]:
        assert httpx.get(f["url"], headers=headers).status_code == 200, f["name"]


def test_upload_names_lose_bidi_controls(api):
    base, headers = api
    sid = projects.upload(base, headers, {"inv%E2%80%AEgpj.exe.jpg": jpeg(3)})
    files = httpx.get(f"{base}/uploads/{sid}", headers=headers).json()
    assert "invgpj.exe.jpg" in str(files) and "\u202e" not in str(files), files


@pytest.mark.parametrize(("disposition", "name"), [
    ('attachment; filename=".."', "named"),  # nothing usable: the URL's name
    ("attachment; filename*=UTF-8''a%00b.zip", "ab.zip"),
    ("attachment; filename*=UTF-8''inv%E2%80%AEpiz.zip", "invpiz.zip"),
    ('attachment; filename="' + "n" * 5000 + '.zip"', "n" * 196 + ".zip"),
])
def test_download_names_follow_the_naming_rule_and_their_urls_work(servers, db_url, origin, disposition, name):
    from urllib.parse import quote

    live = servers.start(database_url=db_url, download_allow=["127.0.0.1/32"])
    headers = live.headers()
    r = projects.create(live.api, headers, download_link=f"{origin}/named?cd={quote(disposition)}")
    assert r.status_code == 201, r.text
    record = projects.wait(live.api, headers, r.json()["name"])
    assert record["status"] == 100, record
    files = by_name(record)
    assert name in files, sorted(files)
    got = httpx.get(files[name]["url"], headers=headers)
    assert got.status_code == 200 and got.content == Origin.body
    live.stop()

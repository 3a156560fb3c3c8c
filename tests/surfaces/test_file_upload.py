"""The File Upload API over HTTP against a live server: every status and error code of the spec."""

import hashlib
import os
import threading
import time

import httpx
import pytest

from tests.support.server import stored_bytes, stored_keys

OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture(scope="module")
def small(servers, db_url):
    """A server with tiny caps and a short lease wait, for the limit and concurrency codes."""
    return servers.start(database_url=db_url, max_file_bytes=1000, max_session_bytes=1500, lease_wait_seconds=0.5)


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.api, headers=server.headers(), timeout=30) as c:
        yield c


def new_session(c) -> str:
    r = c.post("/uploads")
    assert r.status_code == 201
    return r.json()["upload_id"]


def chunk(c, sid, name, data, start, total):
    end = start + len(data) - 1
    return c.put(f"/uploads/{sid}/{name}", content=data, headers={**OCTET, "Content-Range": f"bytes {start}-{end}/{total}"})


stored = stored_bytes


def test_create_session(client):
    r = client.post("/uploads")
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"upload_id", "expires_in_seconds"}
    assert body["expires_in_seconds"] == 259200


def test_whole_file_put_then_status_and_listing(client, server):
    sid = new_session(client)
    data = os.urandom(100_000)
    r = client.put(f"/uploads/{sid}/photo.jpg", content=data, headers=OCTET)
    assert r.status_code == 200
    assert r.json() == {"received": 100_000, "total": 100_000, "complete": True}
    assert client.get(f"/uploads/{sid}/photo.jpg").json() == {"received": 100_000, "total": 100_000, "complete": True}
    chunk(client, sid, "scan.e57", b"x" * 10, 0, 20)
    listing = client.get(f"/uploads/{sid}").json()
    assert listing == {
        "upload_id": sid,
        "files": [
            {"name": "photo.jpg", "received": 100_000, "total": 100_000, "complete": True},
            {"name": "scan.e57", "received": 10, "total": 20, "complete": False},
        ],
    }
    assert hashlib.sha256(stored(server, sid, "photo.jpg")).digest() == hashlib.sha256(data).digest()


def test_chunked_put_resync_and_idempotent_resend(client, server):
    sid = new_session(client)
    data = os.urandom(30_000)
    assert chunk(client, sid, "scan.e57", data[:10_000], 0, 30_000).json()["received"] == 10_000
    r = chunk(client, sid, "scan.e57", data[20_000:], 20_000, 30_000)
    assert r.status_code == 409
    assert r.json() == {"error": "non_contiguous_chunk", "received": 10_000}
    assert chunk(client, sid, "scan.e57", data[5_000:10_000], 5_000, 30_000).json()["received"] == 10_000
    r = chunk(client, sid, "scan.e57", data[10_000:], 10_000, 30_000)
    assert r.json() == {"received": 30_000, "total": 30_000, "complete": True}
    # Re-PUT of a complete file: unchanged.
    r = chunk(client, sid, "scan.e57", os.urandom(30_000), 0, 30_000)
    assert r.json() == {"received": 30_000, "total": 30_000, "complete": True}
    assert stored(server, sid, "scan.e57") == data


def test_second_file_with_the_same_name_is_ignored(client, server):
    sid = new_session(client)
    first = os.urandom(1000)
    client.put(f"/uploads/{sid}/a.jpg", content=first, headers=OCTET)
    r = client.put(f"/uploads/{sid}/a.jpg", content=os.urandom(2000), headers=OCTET)
    assert r.json() == {"received": 1000, "total": 1000, "complete": True}
    assert stored(server, sid, "a.jpg") == first


def test_names_are_flattened(client):
    sid = new_session(client)
    r = client.put(f"/uploads/{sid}/floor%2F1%5Cimg%3A01.jpg", content=b"abc", headers=OCTET)
    assert r.status_code == 200
    assert [f["name"] for f in client.get(f"/uploads/{sid}").json()["files"]] == ["floor1img01.jpg"]


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"Content-Range": "bytes 0-9"}, "invalid_content_range"),
        ({"Content-Range": "bytes 9-0/10"}, "invalid_content_range"),
        ({"Content-Range": "bytes 0-10/10"}, "invalid_content_range"),
        ({"Content-Range": "bytes 0-4/10"}, "chunk_length_mismatch"),
    ],
)
def test_bad_ranges_are_400(client, headers, code):
    sid = new_session(client)
    r = client.put(f"/uploads/{sid}/a.jpg", content=b"0123456789", headers={**OCTET, **headers})
    assert (r.status_code, r.json()["error"]) == (400, code)


def test_changed_total_is_an_invalid_range(client):
    sid = new_session(client)
    chunk(client, sid, "a.jpg", b"x" * 10, 0, 100)
    r = chunk(client, sid, "a.jpg", b"x" * 10, 10, 200)
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_content_range", "total": 100}


def test_invalid_upload_id_and_filename_are_400(client):
    r = client.put("/uploads/no/a.jpg", content=b"x", headers=OCTET)
    assert (r.status_code, r.json()) == (400, {"error": "invalid_upload_id"})
    sid = new_session(client)
    r = client.put(f"/uploads/{sid}/...", content=b"x", headers=OCTET)
    assert (r.status_code, r.json()) == (400, {"error": "invalid_filename"})


def test_unknown_session_and_file_are_404(client):
    r = client.put("/uploads/Zz0000000000/a.jpg", content=b"x", headers=OCTET)
    assert (r.status_code, r.json()) == (404, {"error": "upload_session_not_found"})
    assert client.get("/uploads/Zz0000000000").status_code == 404
    sid = new_session(client)
    r = client.get(f"/uploads/{sid}/missing.jpg")
    assert (r.status_code, r.json()) == (404, {"error": "file_not_found"})


def test_whole_put_without_length_is_411(server):
    sid = httpx.post(f"{server.api}/uploads", headers=server.headers()).json()["upload_id"]

    def stream():
        yield b"abc"

    r = httpx.put(f"{server.api}/uploads/{sid}/a.jpg", content=stream(), headers={**server.headers(), **OCTET})
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert (r.status_code, r.json()) == (411, {"error": "length_required"})


def test_disallowed_extension_is_415_with_the_allowed_list(client):
    sid = new_session(client)
    r = client.put(f"/uploads/{sid}/tool.exe", content=b"MZ", headers=OCTET)
    assert r.status_code == 415
    body = r.json()
    assert body["error"] == "extension_not_allowed" and body["extension"] == "exe"
    for ext in ("jpg", "e57", "ply", "ifc", "splat", "insv", "mp4", "zip", "7z", "rar"):
        assert ext in body["allowed"]


def test_size_caps_are_413_with_limit(small):
    c = httpx.Client(base_url=small.api, headers=small.headers())
    sid = new_session(c)
    r = c.put(f"/uploads/{sid}/big.jpg", content=b"x" * 1001, headers=OCTET)
    assert (r.status_code, r.json()) == (413, {"error": "file_too_large", "limit": 1000})
    assert chunk(c, sid, "one.jpg", b"x" * 10, 0, 1000).status_code == 200
    r = chunk(c, sid, "two.jpg", b"x" * 10, 0, 501)
    assert (r.status_code, r.json()) == (413, {"error": "session_too_large", "limit": 1500})


def test_concurrent_put_to_one_file_gets_409_upload_in_progress(small):
    headers = {**small.headers(), **OCTET}
    sid = httpx.post(f"{small.api}/uploads", headers=headers).json()["upload_id"]
    url = f"{small.api}/uploads/{sid}/a.jpg"
    gate = threading.Event()

    def slow():
        yield b"a" * 100
        gate.wait(10)
        yield b"a" * 100

    first = {}
    t = threading.Thread(target=lambda: first.update(r=httpx.put(
        url, content=slow(), headers={**headers, "Content-Range": "bytes 0-199/1000", "Content-Length": "200"},
        timeout=30)))
    t.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # probe until the slow PUT holds the lease
            # Probes carry the same bytes, so whichever wins the race the file content is known.
            r = httpx.put(url, content=b"a" * 100, headers={**headers, "Content-Range": "bytes 0-99/1000"})
            if r.status_code == 409:
                break
            time.sleep(0.05)
        assert r.status_code == 409
        assert r.json()["error"] == "upload_in_progress"
        assert r.json()["received"] in (0, 100)
    finally:
        gate.set()
        t.join()
    assert first["r"].json()["received"] == 200
    assert stored(small, sid, "a.jpg")[:200] == b"a" * 200


def test_auth_401_and_403(server):
    url = f"{server.api}/uploads"
    r = httpx.post(url)
    assert (r.status_code, r.json()["error"]) == (401, "missing_api_key")
    assert r.headers["www-authenticate"] == "Bearer"
    r = httpx.post(url, headers={"Authorization": "Bearer sk_notarealkey"})
    assert (r.status_code, r.json()["error"]) == (401, "invalid_api_key")
    r = httpx.post(url, headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
    r = httpx.post(url, headers=server.headers("projects:read"))
    assert r.status_code == 403
    assert r.json() == {"error": "insufficient_scope", "required_scope": "projects:write"}


def test_another_owners_session_is_404(server):
    mine = httpx.post(f"{server.api}/uploads", headers=server.headers(owner="alice")).json()["upload_id"]
    theirs = server.headers(owner="mallory")
    assert httpx.get(f"{server.api}/uploads/{mine}", headers=theirs).status_code == 404
    r = httpx.put(f"{server.api}/uploads/{mine}/a.jpg", content=b"x", headers={**theirs, **OCTET})
    assert (r.status_code, r.json()) == (404, {"error": "upload_session_not_found"})
    assert httpx.delete(f"{server.api}/uploads/{mine}", headers=theirs).json() == {"deleted": True}
    assert httpx.get(f"{server.api}/uploads/{mine}", headers=server.headers(owner="alice")).status_code == 200


def test_delete_is_idempotent(client, server):
    sid = new_session(client)
    client.put(f"/uploads/{sid}/a.jpg", content=b"abc", headers=OCTET)
    for _ in range(2):
        r = client.delete(f"/uploads/{sid}")
        assert (r.status_code, r.json()) == (200, {"deleted": True})
    assert client.get(f"/uploads/{sid}").status_code == 404
    assert stored_keys(server, f"uploads/{sid}") == []


# -- not in the spec: the web app gathers tus and Companion multipart uploads into a session ----------


def _tus(server, data: bytes) -> str:
    r = httpx.post(f"{server.url}/files/", headers={**server.headers(), "Tus-Resumable": "1.0.0",
                                                    "Upload-Length": str(len(data)), "Content-Length": "0"})
    assert r.status_code == 201, r.text
    url = r.headers["location"]
    r = httpx.patch(url, content=data, headers={**server.headers(), "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
                                                "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204
    return url


def _companion(server, data: bytes) -> dict:
    h = server.headers()
    made = httpx.post(f"{server.url}/s3/multipart", headers=h, json={"filename": "cloud.e57", "type": "", "metadata": {}}).json()
    q = {"key": made["key"]}
    url = httpx.get(f"{server.url}/s3/multipart/{made['uploadId']}/1", params=q, headers=h).json()["url"]
    etag = httpx.put(url, content=data, timeout=60).headers["ETag"]
    r = httpx.post(f"{server.url}/s3/multipart/{made['uploadId']}/complete", params=q, headers=h,
                   json={"parts": [{"PartNumber": 1, "ETag": etag}]})
    assert r.status_code == 200, r.text
    return {"uploadId": made["uploadId"], "key": made["key"]}


def test_tus_and_multipart_uploads_added_to_a_session_make_one_project(client, server):
    scan, cloud = os.urandom(3000), os.urandom(7000)
    tus_url, mpu = _tus(server, scan), _companion(server, cloud)
    sid = new_session(client)
    r = client.post(f"/uploads/{sid}/files", json={"filename": "scan.e57", "tus_url": tus_url})
    assert (r.status_code, r.json()) == (201, {"name": "scan.e57", "received": 3000, "total": 3000, "complete": True})
    r = client.post(f"/uploads/{sid}/files", json={"filename": "cloud.e57", "multipart": mpu})
    assert r.status_code == 201 and r.json()["received"] == 7000
    assert httpx.head(tus_url, headers={**server.headers(), "Tus-Resumable": "1.0.0"}).status_code == 410  # handed over
    assert [f["name"] for f in client.get(f"/uploads/{sid}").json()["files"]] == ["scan.e57", "cloud.e57"]
    name = client.post("/projects", json={"upload_id": sid}).json()["name"]
    for _ in range(300):
        project = client.get(f"/projects/{name}").json()
        if project["status"] >= 100:
            break
        time.sleep(0.1)
    assert {f["name"]: f["sha256"] for f in project["files"]} == {
        "scan.e57": hashlib.sha256(scan).hexdigest(), "cloud.e57": hashlib.sha256(cloud).hexdigest()}
    listed = client.get("/projects").json()["projects"]
    assert listed[0]["name"] == name and listed[0]["status"] == 100 and listed[0]["state"] == "ready"
    assert (listed[0]["file_count"], listed[0]["size"]) == (2, 10000)  # the web app's library shows both


def test_project_listing_searches_titles_and_names_and_pages(client, server):
    made = []
    for title in ("North wing 50%", "South wing", "north_yard"):
        sid = new_session(client)
        assert client.put(f"/uploads/{sid}/a.e57", content=b"x" * 10).status_code in (200, 201)
        made.append(client.post("/projects", json={"upload_id": sid, "title": title}).json()["name"])
    titles = lambda r: [p["title"] for p in r.json()["projects"]]  # noqa: E731
    assert titles(client.get("/projects", params={"q": "NORTH"})) == ["north_yard", "North wing 50%"]
    assert titles(client.get("/projects", params={"q": "50%"})) == ["North wing 50%"]  # % is literal
    assert titles(client.get("/projects", params={"q": "h_y"})) == ["north_yard"]  # _ is literal
    assert titles(client.get("/projects", params={"q": "wing 5_"})) == []
    by_name = client.get("/projects", params={"q": made[1]}).json()["projects"]
    assert [p["name"] for p in by_name] == [made[1]]
    page = client.get("/projects", params={"q": "wing", "limit": 1, "offset": 1}).json()["projects"]
    assert [p["title"] for p in page] == ["North wing 50%"]


def test_adding_files_refuses_bad_sources_in_the_apis_shape(client, server):
    sid = new_session(client)
    cases = [
        ({"filename": "a.e57"}, 400, "invalid_request"),
        ({"filename": "a.e57", "tus_url": f"{server.url}/elsewhere/abc"}, 404, "source_upload_not_found"),
        ({"filename": "a.e57", "tus_url": f"{server.url}/files/{'x' * 24}"}, 404, "source_upload_not_found"),
        ({"filename": "a.e57", "multipart": {"uploadId": "nope", "key": "companion/x/a.e57"}}, 404, "source_upload_not_found"),
    ]
    for body, status, code in cases:
        r = client.post(f"/uploads/{sid}/files", json=body)
        assert (r.status_code, r.json()["error"]) == (status, code), body
    url = _tus(server, b"abc")
    assert client.post(f"/uploads/{sid}/files", json={"filename": "a.e57", "tus_url": url}).status_code == 201
    again = client.post(f"/uploads/{sid}/files", json={"filename": "a.e57", "multipart": _companion(server, b"defg")})
    assert (again.status_code, again.json()["error"]) == (409, "file_exists")
    other = httpx.post(f"{server.api}/uploads/{sid}/files", headers=server.headers(owner="someone-else"),
                       json={"filename": "b.e57", "tus_url": _tus(server, b"hij")})
    assert (other.status_code, other.json()["error"]) == (404, "upload_session_not_found")

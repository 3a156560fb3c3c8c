"""What a browser page needs from omnidrop, over plain HTTP: CORS on every browser-facing route (one
middleware, `OMNIDROP_CORS_ALLOW_ORIGINS`), Companion's S3 routes with the credential in the path
(Uppy 6's `companionEndpoint`), a coded 401, and login tokens accepted wherever a key is."""

from __future__ import annotations

import hashlib
import os
import re
from urllib.parse import quote
from xml.sax.saxutils import escape

import httpx
import pytest

from tests.support.server import read_blob, run_cli

PAGE = "http://127.0.0.1:9"  # another origin: what a page served elsewhere sends
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def live(servers):
    return servers.start(fsync=False)


@pytest.fixture(scope="module")
def strict(servers):
    return servers.start(fsync=False, cors_allow_origins=["https://allowed.example"])


def preflight(url: str, method: str, headers: str, origin: str = PAGE) -> httpx.Response:
    return httpx.options(url, headers={"Origin": origin, "Access-Control-Request-Method": method,
                                       "Access-Control-Request-Headers": headers})


def exposed(r: httpx.Response) -> set[str]:
    return {h.strip().lower() for h in r.headers.get("access-control-expose-headers", "").split(",") if h.strip()}


def test_s3_multipart_preflight_and_part_put_expose_the_etag(live):
    r = preflight(f"{live.url}/s3/multipart", "POST", "content-type,authorization")
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    assert "POST" in r.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"content-type", "authorization"} <= allowed

    auth = {**live.headers(), "Origin": PAGE}
    created = httpx.post(f"{live.url}/s3/multipart", json={"filename": "a.bin"}, headers=auth)
    assert created.status_code == 200 and created.headers["access-control-allow-origin"] == "*"
    upload_id, key = created.json()["uploadId"], created.json()["key"]
    url = httpx.get(f"{live.url}/s3/multipart/{upload_id}/1", params={"key": key}, headers=auth).json()["url"]
    assert url.startswith(live.url + "/_omnidrop/parts/")
    r = preflight(url, "PUT", "content-type")
    assert r.status_code == 200 and "PUT" in r.headers["access-control-allow-methods"]
    put = httpx.put(url, content=b"abc", headers={"Origin": PAGE})
    assert put.status_code == 200
    assert put.headers["access-control-allow-origin"] == "*"
    assert "etag" in exposed(put) and put.headers["etag"] == '"' + hashlib.md5(b"abc").hexdigest() + '"'


def test_every_surface_gets_cors_from_the_same_place(live):
    for path, method in (("/files/", "POST"), ("/api/v1/uploads", "POST"), ("/api/v1/captures", "GET"),
                         ("/api/videos/uploads", "POST"), ("/360/upload", "POST"), ("/auth/login", "POST")):
        r = preflight(live.url + path, method, "authorization")
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*", path
    r = httpx.get(f"{live.url}/api/v1/projects", headers={**live.headers(), "Origin": PAGE})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    assert {"etag", "location", "upload-offset"} <= exposed(r)


def test_only_listed_origins_are_allowed(strict):
    r = preflight(f"{strict.url}/s3/multipart", "POST", "content-type", origin="https://evil.example")
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    r = preflight(f"{strict.url}/s3/multipart", "POST", "content-type", origin="https://allowed.example")
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://allowed.example" and "Origin" in r.headers["vary"]
    got = httpx.get(f"{strict.url}/api/v1/projects", headers={**strict.headers(), "Origin": "https://evil.example"})
    assert got.status_code == 200 and "access-control-allow-origin" not in got.headers
    got = httpx.get(f"{strict.url}/api/v1/projects", headers={**strict.headers(), "Origin": "https://allowed.example"})
    assert got.headers["access-control-allow-origin"] == "https://allowed.example"


def test_companion_refusals_carry_a_code(live):
    r = httpx.post(f"{live.url}/s3/multipart", json={"filename": "a.jpg"})
    assert r.status_code == 401 and r.json()["error"] == "missing_api_key" and r.json()["message"]
    r = httpx.post(f"{live.url}/s3/multipart", json={"filename": "a.jpg"}, headers={"Authorization": "Bearer sk_nope"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_api_key"
    r = httpx.post(f"{live.url}/companion/sk_nope/s3/multipart", json={"filename": "a.jpg"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_api_key"
    reader = live.key("projects:read")
    r = httpx.post(f"{live.url}/companion/{reader}/s3/multipart", json={"filename": "a.jpg"})
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"


def test_companion_endpoint_with_the_credential_in_the_path(live):
    """Uppy 6's companionEndpoint mode sends no headers: `<endpoint>/s3/multipart…` with the key in the path."""
    endpoint = f"{live.url}/companion/{quote(live.key(), safe='')}"
    data = os.urandom(5 * MiB + 7)
    created = httpx.post(f"{endpoint}/s3/multipart", json={"filename": "walk.mp4", "type": "video/mp4", "metadata": {}})
    assert created.status_code == 200, created.text
    upload_id, key = created.json()["uploadId"], created.json()["key"]
    etags = []
    for n, chunk in enumerate((data[:5 * MiB], data[5 * MiB:]), start=1):
        url = httpx.get(f"{endpoint}/s3/multipart/{upload_id}/{n}", params={"key": key}).json()["url"]
        etags.append({"PartNumber": n, "ETag": httpx.put(url, content=chunk).headers["etag"]})
    listed = httpx.get(f"{endpoint}/s3/multipart/{upload_id}", params={"key": key}).json()
    assert [p["PartNumber"] for p in listed] == [1, 2]
    done = httpx.post(f"{endpoint}/s3/multipart/{upload_id}/complete", params={"key": key}, json={"parts": etags})
    assert done.status_code == 200, done.text
    assert hashlib.sha256(read_blob(live, key)).digest() == hashlib.sha256(data).digest()
    # Another owner's credential in the path does not see it.
    other = f"{live.url}/companion/{live.key(owner='mallory')}"
    assert httpx.get(f"{other}/s3/multipart/{upload_id}", params={"key": key}).status_code == 404


def test_a_login_token_works_wherever_a_key_does(live):
    done = run_cli(["users", "create", "--username", "bo", "--password", "pass-word-1", "--owner", "bo-team"], live.env)
    assert done.returncode == 0, done.stderr
    login = httpx.post(f"{live.url}/auth/login", json={"username": "bo", "password": "pass-word-1"})
    assert login.status_code == 200, login.text
    token = login.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    # The File Upload API: a session, a file, a project.
    session = httpx.post(f"{live.url}/api/v1/uploads", headers=bearer)
    assert session.status_code in (200, 201), session.text
    sid = session.json()["upload_id"]
    assert httpx.put(f"{live.url}/api/v1/uploads/{sid}/site.e57", headers=bearer, content=b"x" * 100).json()["complete"]
    project = httpx.post(f"{live.url}/api/v1/projects", headers=bearer, json={"upload_id": sid})
    assert project.status_code in (200, 201), project.text
    names = [p["name"] for p in httpx.get(f"{live.url}/api/v1/projects", headers=bearer).json()["projects"]]
    assert project.json()["name"] in names
    # The other lists the web app shows, each in its own API's auth header.
    assert httpx.get(f"{live.url}/api/v1/captures", headers=bearer).status_code == 200
    assert httpx.get(f"{live.url}/360/vehicles", headers=bearer).status_code == 200
    assert httpx.get(f"{live.url}/360/vehicles", headers={"X-API-Key": token}).status_code == 200
    assert httpx.get(f"{live.url}/api/videos/uploads", headers={"X-SPATIALGEN-APPKEY": token}).status_code == 200
    assert httpx.post(f"{live.url}/companion/{token}/s3/multipart", json={"filename": "a.bin"}).status_code == 200
    # The key holder of another owner sees none of it.
    theirs = httpx.get(f"{live.url}/api/v1/projects", headers=live.headers("projects:read")).json()["projects"]
    assert project.json()["name"] not in [p["name"] for p in theirs]


def test_sign_request_mode_speaks_s3_xml_behind_signed_urls(server):
    """Uppy 6's signRequest mode: POST /s3/sign per S3 request, then the S3 request itself (XML) to the URL.
    On both stores: on S3 the parts go to the bucket's presigned URLs, the rest through omnidrop."""
    live = server
    auth = live.headers()

    def sign(**req) -> dict:
        r = httpx.post(f"{live.url}/s3/sign", json=req, headers=auth)
        assert r.status_code == 200, r.text
        return r.json()

    data = os.urandom(5 * MiB + 9)
    created = sign(method="POST", key="uuid-site scan.e57")
    key = created["key"]
    assert key.startswith("companion/") and key.endswith("uuid-site_scan.e57")
    init = httpx.post(created["url"], headers={"Content-Type": "application/octet-stream"})
    assert init.status_code == 200 and init.headers["content-type"].startswith("application/xml")
    upload_id = re.search(r"<UploadId>([^<]+)</UploadId>", init.text).group(1)
    assert f"<Key>{key}</Key>" in init.text
    # A signed URL does the one request it was signed for.
    assert httpx.delete(created["url"]).status_code == 403
    etags = []
    for n, chunk in enumerate((data[:5 * MiB], data[5 * MiB:]), start=1):
        put = httpx.put(sign(method="PUT", key=key, uploadId=upload_id, partNumber=n)["url"], content=chunk)
        assert put.status_code == 200
        etags.append(put.headers["etag"])
    listed = httpx.get(sign(method="GET", key=key, uploadId=upload_id)["url"])
    assert listed.status_code == 200
    assert re.findall(r"<PartNumber>(\d+)</PartNumber><ETag>([^<]+)</ETag>", listed.text) == [
        ("1", escape(etags[0])), ("2", escape(etags[1]))]
    bad = httpx.post(sign(method="POST", key=key, uploadId=upload_id)["url"],
                     content=b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>")
    assert bad.status_code == 400 and "<Code>MalformedXML</Code>" in bad.text
    xml = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in enumerate(etags, start=1)
    ) + "</CompleteMultipartUpload>"
    done = httpx.post(sign(method="POST", key=key, uploadId=upload_id)["url"], content=xml,
                      headers={"Content-Type": "application/xml"})
    assert done.status_code == 200, done.text
    assert f"<Key>{key}</Key>" in done.text and "<Location>" in done.text
    assert hashlib.sha256(read_blob(live, key)).digest() == hashlib.sha256(data).digest()
    # Another owner cannot sign requests on it; an unknown method is refused.
    r = httpx.post(f"{live.url}/s3/sign", json={"method": "GET", "key": key, "uploadId": upload_id},
                   headers=live.headers(owner="mallory"))
    assert r.status_code == 404
    r = httpx.post(f"{live.url}/s3/sign", json={"method": "DELETE", "key": key}, headers=auth)
    assert r.status_code == 400
    assert httpx.post(f"{live.url}/s3/sign", json={"method": "POST", "key": "x"}).json()["error"] == "missing_api_key"


def test_sign_request_put_object_stores_a_small_file_whole(server, store_url):
    live = server
    r = httpx.post(f"{live.url}/s3/sign", json={"method": "PUT", "key": "note.txt", "contentType": "text/plain"},
                   headers=live.headers())
    if store_url:  # an S3 store takes browser bytes only part by part, straight into the bucket
        assert r.status_code == 400 and "shouldUseMultipart" in r.json()["error"]
        return
    signed = r.json()
    put = httpx.put(signed["url"], content=b"hello", headers={"Content-Type": "text/plain"})
    assert put.status_code == 200 and put.headers["etag"] == '"' + hashlib.md5(b"hello").hexdigest() + '"'
    assert read_blob(live, signed["key"]) == b"hello"

"""Hostile or broken input that used to end in a 500: each is refused in its API's own error shape,
and blob downloads tell browsers not to sniff their type. Against a live server."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest

from omnidrop.auth.signing import UrlSigner, load_secret
from tests.support.raw_http import RawConnection
from tests.support.server import LiveServer, _server_store

BIG = 2**63  # one past what a 64-bit INTEGER column holds
DIGITS = "9" * 5000  # past the 4300 digits int() accepts


def keyed(server: LiveServer, *scopes: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=server.headers(*scopes), timeout=30)


def test_a_non_ascii_signature_is_refused_like_any_wrong_signature(server):
    r = httpx.get(f"{server.url}/_omnidrop/blobs/x/y", params={"X-Omnidrop-Expires": "4102444800",
                                                              "X-Omnidrop-Signature": "é" * 64})
    assert r.status_code == 403 and r.json()["error"] == "SignatureDoesNotMatch"
    r = httpx.put(f"{server.url}/_omnidrop/parts/abc/1", content=b"x",
                  params={"X-Omnidrop-Expires": "4102444800", "X-Omnidrop-Signature": "é"})
    assert r.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in r.content


def test_a_part_number_of_thousands_of_digits_is_a_bad_request(server):
    r = httpx.put(f"{server.url}/_omnidrop/parts/abc/{DIGITS}", content=b"x")
    assert r.status_code == 400 and b"<Code>InvalidArgument</Code>" in r.content


@pytest.mark.parametrize("link", ["http://[::1", "http://[::1]:99999/x", "https://[not-an-address]/"])
def test_a_download_link_that_is_no_url_is_invalid_download_link(server, link):
    with keyed(server) as c:
        r = c.post("/api/v1/projects", json={"download_link": link})
    assert r.status_code == 400 and r.json() == {"error": "invalid_download_link"}


@pytest.mark.parametrize("body", [b'{"download_link": "http://example.com/a.zip"}', b"\xff\xfe not even utf-8"])
def test_a_project_request_that_is_not_json_is_invalid_request(server, body):
    with keyed(server) as c:
        r = c.post("/api/v1/projects", content=body, headers={"Content-Type": "text/plain"})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"


def test_integers_past_64_bits_are_validation_errors_everywhere(server):
    with keyed(server, "captures") as c:
        for body in ({"name": "a", "bytesize": BIG}, {"name": "a", "bytesize": 10, "num_frames": BIG}):
            r = c.post("/api/v1/captures", json=body)
            assert r.status_code == 422 and r.json()["detail"][0]["type"] == "less_than_equal", r.text
        r = c.get("/api/v1/captures", params={"offset": BIG})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "offset"]
        r = c.post(f"/api/v1/captures/abc/create-upload-url/{BIG}", json={"eid": "abc", "bytesize": 5})
        assert r.status_code == 422
    video = {"X-SPATIALGEN-APPKEY": server.key("videos:upload")}
    with httpx.Client(base_url=server.url, headers=video, timeout=30) as c:
        r = c.post("/api/videos/uploads", json={"layout": "Mono", "files": [
            {"role": "video", "filename": "a.mp4", "size": BIG}]})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request", r.text
        for path in ("/api/videos/uploads", "/api/videos/library"):
            r = c.get(path, params={"offset": BIG})
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request", r.text
    with keyed(server) as c:
        r = c.get("/api/v1/projects", params={"offset": BIG})
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"
        r = c.post("/api/v1/projects", json={"upload_id": "x", "privacy_mode": BIG})
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_a_content_range_of_thousands_of_digits_is_invalid_content_range(server):
    with keyed(server) as c:
        sid = c.post("/api/v1/uploads").json()["upload_id"]
        r = c.put(f"/api/v1/uploads/{sid}/a.jpg", content=b"x",
                  headers={"Content-Range": f"bytes 0-{DIGITS}/{DIGITS}"})
        assert r.status_code == 400 and r.json()["error"] == "invalid_content_range"
        assert c.get(f"/api/v1/uploads/{sid}").json()["files"] == []


def test_resumable_headers_with_non_ascii_digits_are_bad_requests(server):
    """`²` is a digit to str.isdigit() but not to int(): a header check must not let it through."""
    r = httpx.post(f"{server.url}/files/", headers={**server.headers(), "Tus-Resumable": "1.0.0",
                                                    "Upload-Length": "10", "Content-Length": "0"})
    assert r.status_code == 201, r.text
    with RawConnection(server.port) as conn:
        conn.send_head("PATCH", httpx.URL(r.headers["location"]).path, {
            "Authorization": f"Bearer {server.key()}", "Tus-Resumable": "1.0.0", "Upload-Offset": "\u00b2",
            "Content-Type": "application/offset+octet-stream", "Content-Length": "1"})
        conn.send(b"x")
        head = conn.read_head()
    assert head.status == 400
    with RawConnection(server.port) as conn:
        conn.send_head("POST", "/files/", {
            "Authorization": f"Bearer {server.key()}", "Upload-Draft-Interop-Version": DIGITS,
            "Upload-Complete": "?1", "Content-Length": "0"})
        head = conn.read_head()
    assert head.status < 500


# -- downloads: nosniff --------------------------------------------------------------------------------


def _put_blob(server: LiveServer, key: str, data: bytes) -> None:
    async def put() -> None:
        store = _server_store(server)
        try:
            async def chunks():
                yield data
            await store.write(key, 0, chunks())
            await store.finalize(key, len(data))
        finally:
            await store.close()

    asyncio.run(put())


def test_signed_blob_downloads_say_nosniff(server):
    key = f"projects/nosniff-{os.urandom(4).hex()}/page.html"
    _put_blob(server, key, b"<script>alert(1)</script>")
    signer = UrlSigner(load_secret(server.env.get("OMNIDROP_SECRET_KEY"), server.data_dir))
    for path, status, extra in ((f"/_omnidrop/blobs/{key}", 200, {}), (f"/_omnidrop/blobs/{key}", 206,
                                                                      {"Range": "bytes=0-3"}),
                                (f"/_omnidrop/blobs/{key}", 416, {"Range": "bytes=999-"}),
                                ("/_omnidrop/blobs/projects/none/missing.html", 404, {})):
        r = httpx.get(server.url + signer.sign("GET", path, 60), headers=extra)
        assert r.status_code == status, r.text
        assert r.headers["x-content-type-options"] == "nosniff"


def test_a_drawing_image_is_served_as_uploaded_and_nosniff(server):
    with keyed(server) as c:
        project = f"p-{os.urandom(3).hex()}"
        assert c.post("/360/projects", json={"id": project}).status_code == 201
        drawing = c.post(f"/360/projects/{project}/drawings", json={
            "name": "L1", "bounds": {"north": 1, "south": 0, "east": 1, "west": 0}}).json()["id"]
        png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
        assert c.put(f"/360/drawings/{drawing}/image", content=png,
                     headers={"Content-Type": "image/png"}).status_code == 200
        r = c.get(f"/360/drawings/{drawing}/image")
    assert r.status_code == 200 and r.content == png
    assert r.headers["content-type"] == "image/png" and r.headers["x-content-type-options"] == "nosniff"

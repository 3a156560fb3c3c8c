"""Bodies parsed whole are capped on every route, one mechanism for all surfaces (413 in each API's
error shape), and POST /api/v1/projects keeps only so much under `options`. Against a live server."""

from __future__ import annotations

import json

import httpx
import pytest

CAP = 4096
BIG = {"padding": "x" * (CAP + 100)}


@pytest.fixture(scope="module")
def live(servers, db_url):
    return servers.start(database_url=db_url, max_json_body_bytes=CAP, max_project_options_bytes=1024)


def test_every_surface_refuses_an_oversized_json_body_in_its_own_shape(live):
    bearer = live.headers("projects:write", "projects:read", "captures", "vehicles:write", "vehicles:read")
    video = {"X-SPATIALGEN-APPKEY": live.key("videos:upload")}
    cases = [
        ("/api/v1/projects", bearer, lambda b: b == {"error": "request_too_large", "limit": CAP}),
        ("/api/v1/captures", bearer, lambda b: "larger than this route takes" in b["detail"]),
        ("/api/videos/uploads", video, lambda b: b["error"]["code"] == "request_too_large"),
        ("/auth/login", {}, lambda b: b["error"] == "request_too_large" and b["message"]),
        ("/360/vehicles", bearer, lambda b: b["error"]["code"] == "REQUEST_TOO_LARGE"),
        ("/360/cleanup", bearer, lambda b: b["error"]["code"] == "REQUEST_TOO_LARGE"),
        ("/s3/multipart", bearer, lambda b: "larger than this route takes" in b["error"]),
    ]
    for path, headers, shape in cases:
        r = httpx.post(live.url + path, json=BIG, headers=headers)
        assert r.status_code == 413, (path, r.text)
        assert shape(r.json()), (path, r.text)


def test_a_chunked_body_without_a_length_is_cut_off_at_the_cap_too(live):
    def pieces():
        for _ in range(64):
            yield b" " * 1024  # JSON whitespace: harmless if it were parsed, but it never is
        yield b"{}"

    r = httpx.post(f"{live.url}/api/v1/projects", content=pieces(), headers={
        **live.headers(), "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "request_too_large"


def test_a_form_the_walkthrough_parses_whole_is_capped(live):
    r = httpx.post(f"{live.url}/360/p/upload", data={"name": "x" * (CAP + 10)}, headers=live.headers())
    assert r.status_code == 413 and r.json()["error"] == "request_too_large"


def test_bodies_under_the_cap_and_streamed_uploads_are_untouched(live):
    with httpx.Client(base_url=live.api, headers=live.headers(), timeout=30) as c:
        sid = c.post("/uploads").json()["upload_id"]
        r = c.post("/projects", json={"upload_id": sid, "note": "y" * 500})  # an empty session: refused
        assert r.status_code == 400 and r.json()["error"] == "project_creation_failed", r.text
        data = json.dumps({"k": "v" * (4 * CAP)}).encode()  # a JSON file uploaded as bytes, past the cap
        r = c.put(f"/uploads/{sid}/scan.ply", content=data, headers={"Content-Type": "application/json"})
        assert r.status_code == 200 and r.json()["received"] == len(data), r.text


def test_unknown_project_fields_are_kept_only_up_to_a_bound(live):
    with httpx.Client(base_url=live.api, headers=live.headers(), timeout=30) as c:
        sid = c.post("/uploads").json()["upload_id"]
        r = c.post("/projects", json={"upload_id": sid, "note": "z" * 2000})
        assert r.status_code == 413 and r.json() == {"error": "options_too_large", "limit": 1024}

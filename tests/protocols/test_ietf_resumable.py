"""The IETF resumable-upload draft (interop versions 5 and 6) on the tus endpoints, against a live server."""

from __future__ import annotations

import json
import os

import httpx
import pytest

from omnidrop.protocols.ietf_resumable import VERSIONS
from tests.support.resumable import TUS, uploaded_bytes

PARTIAL = {"Content-Type": "application/partial-upload"}


@pytest.fixture(scope="module")
def live(servers, db_url):
    return servers.start(database_url=db_url, max_file_bytes=1_000_000, upload_ttl_seconds=3600)


@pytest.fixture
def draft(live):
    with httpx.Client(base_url=live.url, headers={**live.headers(), "Upload-Draft-Interop-Version": "6"},
                      timeout=60) as client:
        yield client


def create(client: httpx.Client, **headers: str) -> str:
    r = client.post("/files/", headers={"Upload-Complete": "?0", **headers})
    assert r.status_code == 201, r.text
    return httpx.URL(r.headers["location"]).path


def append(client, path, offset, data, complete=False, **headers) -> httpx.Response:
    return client.patch(path, content=data, headers={
        **PARTIAL, "Upload-Offset": str(offset), "Upload-Complete": "?1" if complete else "?0", **headers})


def test_interop_versions_are_a_table():
    assert {5, 6} <= set(VERSIONS)
    assert VERSIONS[6].append_media_type == "application/partial-upload"


def test_creation_gives_location_and_limits(draft):
    r = draft.post("/files/", headers={"Upload-Complete": "?0", "Upload-Length": "100"})
    assert r.status_code == 201
    assert "/files/" in r.headers["location"]
    assert r.headers["upload-complete"] == "?0"
    assert r.headers["upload-offset"] == "0"
    limits = dict(p.strip().split("=") for p in r.headers["upload-limit"].split(","))
    assert limits["max-size"] == "1000000" and limits["min-size"] == "0" and 0 < int(limits["expires"]) <= 3600
    assert r.headers["upload-draft-interop-version"] == "6"
    assert "tus-resumable" not in r.headers


def test_offset_retrieval(draft):
    path = create(draft, **{"Upload-Length": "10"})
    append(draft, path, 0, b"abcd")
    r = draft.head(path)
    assert r.status_code == 204
    assert r.headers["upload-offset"] == "4"
    assert r.headers["upload-complete"] == "?0"
    assert r.headers["upload-length"] == "10"
    assert r.headers["cache-control"] == "no-store"
    assert "max-size=1000000" in r.headers["upload-limit"]


def test_appends_complete_the_upload_without_a_known_length(live, draft):
    data = os.urandom(5000)
    path = create(draft)
    assert "upload-length" not in draft.head(path).headers
    r = append(draft, path, 0, data[:2000])
    assert (r.status_code, r.headers["upload-offset"], r.headers["upload-complete"]) == (204, "2000", "?0")
    r = append(draft, path, 2000, data[2000:], complete=True)
    assert (r.headers["upload-offset"], r.headers["upload-complete"]) == ("5000", "?1")
    r = draft.head(path)
    assert (r.headers["upload-complete"], r.headers["upload-length"]) == ("?1", "5000")
    assert uploaded_bytes(live, path) == data


def test_a_complete_creation_request_uploads_in_one_go(live, draft):
    r = draft.post("/files/", content=b"whole body", headers={
        "Upload-Complete": "?1", "Content-Type": "video/mp4", "Content-Disposition": 'inline; filename="a.insv"'})
    assert r.status_code == 201
    assert r.headers["upload-complete"] == "?1"
    path = httpx.URL(r.headers["location"]).path
    assert uploaded_bytes(live, path) == b"whole body"
    # The same resource through tus: the filename and type became metadata.
    tus = httpx.head(f"{live.url}{path}", headers={**TUS, **live.headers()})
    assert "filename" in tus.headers["upload-metadata"] and "filetype" in tus.headers["upload-metadata"]


def test_offset_mismatch_is_409_with_the_correct_offset(draft):
    path = create(draft)
    append(draft, path, 0, b"abc")
    r = append(draft, path, 1, b"zz")
    assert r.status_code == 409
    assert (r.headers["upload-offset"], r.headers["upload-complete"]) == ("3", "?0")
    problem = json.loads(r.text)
    assert problem["type"].endswith("#mismatching-upload-offset")
    assert (problem["expected-offset"], problem["provided-offset"]) == (3, 1)
    assert draft.head(path).headers["upload-offset"] == "3"


def test_append_needs_the_partial_upload_media_type(draft):
    path = create(draft)
    r = draft.patch(path, content=b"abc", headers={"Content-Type": "application/offset+octet-stream",
                                                    "Upload-Offset": "0", "Upload-Complete": "?0"})
    assert r.status_code == 415


def test_interop_5_appends_take_any_media_type(live):
    headers = {**live.headers(), "Upload-Draft-Interop-Version": "5"}
    with httpx.Client(base_url=live.url, headers=headers) as client:
        path = create(client)
        r = client.patch(path, content=b"abc", headers={"Upload-Offset": "0", "Upload-Complete": "?1"})
        assert (r.status_code, r.headers["upload-complete"]) == (204, "?1")


@pytest.mark.parametrize("headers", [
    {"Upload-Offset": "0"},  # no Upload-Complete
    {"Upload-Complete": "?0"},  # no Upload-Offset
    {"Upload-Offset": "0", "Upload-Complete": "yes"},
])
def test_append_without_its_fields_is_400(draft, headers):
    path = create(draft)
    assert draft.patch(path, content=b"abc", headers={**PARTIAL, **headers}).status_code == 400


def test_creation_needs_upload_complete(draft):
    assert draft.post("/files/", headers={"Upload-Length": "3"}).status_code == 400


def test_inconsistent_length_is_400(draft):
    r = draft.post("/files/", content=b"abc", headers={"Upload-Complete": "?1", "Upload-Length": "9"})
    assert r.status_code == 400
    assert r.json()["type"].endswith("#inconsistent-upload-length")
    path = create(draft, **{"Upload-Length": "10"})
    assert append(draft, path, 0, b"abc", complete=True).status_code == 400


def test_over_the_limit_is_413(draft):
    assert draft.post("/files/", headers={"Upload-Complete": "?0", "Upload-Length": "1000001"}).status_code == 413


def test_cancellation(draft):
    path = create(draft)
    assert draft.delete(path).status_code == 204
    assert draft.head(path).status_code == 410
    assert append(draft, path, 0, b"x").status_code == 410
    assert draft.head("/files/neverexisted1").status_code == 404


def test_an_unknown_interop_version_is_not_the_draft(live):
    r = httpx.post(f"{live.url}/files/", headers={**live.headers(), "Upload-Draft-Interop-Version": "99",
                                                  "Upload-Complete": "?0"})
    assert r.status_code == 412  # answered as tus, which wants Tus-Resumable

"""The IETF resumable-upload draft (interop versions 5 and 6) on the tus endpoints, against a live server."""

from __future__ import annotations

import json
import os

import httpx
import pytest

from omnidrop.protocols.ietf_resumable import VERSIONS
from tests.support.raw_http import RawConnection
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


# -- the 104 (Upload Resumption Supported) interim response, over a bare socket ---------------------


def raw_creation(server, conn: RawConnection, length: int, **headers: str) -> None:
    conn.send_head("POST", "/files/", {"Authorization": f"Bearer {server.key()}", "Upload-Draft-Interop-Version": "6",
                                       "Upload-Complete": "?1", "Content-Length": str(length),
                                       "Content-Type": "video/mp4", **headers})


def test_creation_announces_the_upload_in_a_104_so_a_cut_upload_resumes(live, draft):
    data = os.urandom(256 * 1024)
    half = len(data) // 2
    with RawConnection(live.port) as conn:
        raw_creation(live, conn, len(data))
        conn.send(data[:half])
        interim = conn.read_head()  # before the second half is sent: the server has not read the whole body
        assert (interim.status, interim.reason) == (104, "Upload Resumption Supported")
        assert interim.headers["upload-draft-interop-version"] == "6"
        assert "max-size=1000000" in interim.headers["upload-limit"]
        conn.send(data[half:half + 1000])
    # Cut mid-body, no final response: the client knows the upload only from the 104.
    path = httpx.URL(interim.headers["location"]).path
    r = draft.head(path)
    assert (r.status_code, r.headers["upload-complete"], r.headers["upload-length"]) == (204, "?0", str(len(data)))
    offset = int(r.headers["upload-offset"])
    assert 0 <= offset <= half + 1000
    r = append(draft, path, offset, data[offset:], complete=True)
    if r.status_code == 409:  # the cut request was still storing its bytes when HEAD answered
        offset = int(r.headers["upload-offset"])
        r = append(draft, path, offset, data[offset:], complete=True)
    assert (r.status_code, r.headers["upload-complete"]) == (204, "?1")
    assert uploaded_bytes(live, path) == data


def test_the_104_comes_before_100_continue_and_the_final_response_has_its_location(live):
    data = os.urandom(5000)
    with RawConnection(live.port) as conn:
        raw_creation(live, conn, len(data), Expect="100-continue")
        interim = conn.read_head()
        assert interim.status == 104
        # The draft: a 104 does not stand in for the 100 Continue the client waits for.
        assert conn.read_head().status == 100
        conn.send(data)
        final = conn.read_head()
        assert (final.status, final.headers["upload-complete"]) == (201, "?1")
        assert final.headers["location"] == interim.headers["location"]
    assert uploaded_bytes(live, httpx.URL(final.headers["location"]).path) == data


def test_tus_creation_gets_no_104(live):
    with RawConnection(live.port) as conn:
        conn.send_head("POST", "/files/", {"Authorization": f"Bearer {live.key()}", "Tus-Resumable": "1.0.0",
                                           "Upload-Length": "10", "Content-Length": "0"})
        assert conn.read_head().status == 201


def test_granian_serves_the_draft_without_the_104(servers, tmp_path):
    # granian cannot send interim responses: the creation answers 201 directly, with the Location.
    live = servers.start(data_dir=tmp_path / "granian", server="granian", embedded_worker=False)
    data = os.urandom(3000)
    with RawConnection(live.port) as conn:
        raw_creation(live, conn, 1000, **{"Upload-Complete": "?0", "Upload-Length": str(len(data))})
        conn.send(data[:1000])
        final = conn.read_head()
        assert (final.status, final.headers["upload-offset"], final.headers["upload-complete"]) == (201, "1000", "?0")
    path = httpx.URL(final.headers["location"]).path
    with httpx.Client(base_url=live.url, headers={**live.headers(), "Upload-Draft-Interop-Version": "6"}) as client:
        assert append(client, path, 1000, data[1000:], complete=True).status_code == 204
    assert uploaded_bytes(live, path) == data
    live.stop()

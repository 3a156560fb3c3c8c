"""Inputs schemathesis found answered with a 500 or in the framework's shape instead of the surface's:
each now gets that API's documented error."""

from __future__ import annotations

import httpx
import pytest

NOT_UTF8_JSON = b'{"name": "\xff\xfe"}'


@pytest.fixture(scope="module")
def headers(all_scopes_key) -> dict:
    return {"Authorization": f"Bearer {all_scopes_key}", "X-SPATIALGEN-APPKEY": all_scopes_key,
            "Content-Type": "application/json"}


@pytest.mark.parametrize(("path", "status", "shape"), [
    ("/auth/login", 400, lambda b: b["error"] == "invalid_request" and "parsing the body" in b["message"]),
    ("/api/videos/uploads", 400, lambda b: b["error"]["code"] == "invalid_request"),
    ("/s3/multipart", 400, lambda b: "parsing the body" in b["error"]),
    ("/360/mask-frames", 400, lambda b: b["error"]["code"] == "INVALID_REQUEST"),
    ("/api/v1/captures", 422, lambda b: b["detail"][0]["type"] == "body_unreadable"),
])
def test_a_body_that_is_not_utf8_is_refused_in_the_surfaces_shape(live, headers, path, status, shape):
    r = httpx.post(f"{live.url}{path}", headers=headers, content=NOT_UTF8_JSON)
    assert r.status_code == status, r.text
    assert shape(r.json()), r.text


def test_a_walkthrough_id_of_non_ascii_digits_is_not_found(live, headers):
    r = httpx.get(f"{live.url}/360/%C2%B2/points", headers=headers)  # "²": isdigit() but not int()
    assert (r.status_code, r.json()["error"]) == (404, "upload_not_found")


@pytest.mark.parametrize(("body", "code"), [
    (b'{"vehicle_uuid": "", "side": [null, null]}', "INVALID_SIDE"),
    (b'{"vehicle_uuid": 7, "side": "OUTSIDE"}', "INVALID_VEHICLE_UUID"),
    (b"\xff{", "INVALID_REQUEST"),
])
def test_vehicle_cleanup_refuses_bodies_that_are_not_its_fields(live, headers, body, code):
    r = httpx.post(f"{live.url}/360/cleanup", headers=headers, content=body)
    assert (r.status_code, r.json()["error"]["code"]) == (400, code), r.text

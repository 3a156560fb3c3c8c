"""Every surface's error shape reads into one (code, message)."""

from __future__ import annotations

import httpx
import pytest

from omnidrop.client.errors import ApiError, retry_after


@pytest.mark.parametrize(("response", "code", "message"), [
    (httpx.Response(409, json={"error": "non_contiguous_chunk", "received": 5}), "non_contiguous_chunk", ""),
    (httpx.Response(404, json={"error": "drawing_not_found", "message": "no drawing 7"}), "drawing_not_found", "no drawing 7"),
    (httpx.Response(400, json={"error": {"code": "INVALID_SIDE", "message": "side?"}}), "INVALID_SIDE", "side?"),
    (httpx.Response(404, json={"detail": "Capture not found"}), "not_found", "Capture not found"),
    (httpx.Response(422, json={"detail": [{"loc": ["body", "parts", 0], "msg": "bad etag", "type": "invalid_part"}]}),
     "invalid_part", "body.parts.0: bad etag"),
    (httpx.Response(409, json={"type": "https://iana.org/assignments/http-problem-types#mismatching-upload-offset",
                               "title": "offset from request does not match"}),
     "mismatching-upload-offset", "offset from request does not match"),
    (httpx.Response(403, text="<Error><Code>AccessDenied</Code><Message>expired</Message></Error>"),
     "AccessDenied", "expired"),
    (httpx.Response(423, text="file is locked\n"), "locked", "file is locked"),
    (httpx.Response(502), "bad_gateway", ""),
])
def test_error_shapes(response, code, message):
    exc = ApiError.from_response(response)
    assert (exc.status, exc.code, exc.message) == (response.status_code, code, message)


def test_details_of_both_json_shapes():
    assert ApiError.from_response(httpx.Response(409, json={"error": "upload_in_progress", "received": 7})).details \
        == {"received": 7}
    nested = httpx.Response(404, json={"error": {"code": "FRAMES_NOT_READY", "message": "m", "progress": 40}})
    assert ApiError.from_response(nested).details == {"progress": 40}


def test_retry_after_seconds_and_dates():
    assert retry_after(httpx.Response(429, headers={"Retry-After": "3"})) == 3.0
    assert retry_after(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after(httpx.Response(429)) is None

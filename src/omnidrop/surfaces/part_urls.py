"""omnidrop's own presigned part URLs (local-disk store): `PUT /_omnidrop/parts/{upload}/{number}`, and
the other S3 requests it signs for Uppy 6's `signRequest` mode: `/_omnidrop/s3/{upload}/{action}`.

They stand in for S3's UploadPart URLs, so they answer like S3: the part's ETag in the `ETag` header,
errors as `<Error><Code>…</Code><Message>…</Message></Error>` XML. The signature covers the method,
so the URL works for the PUT it was made for and nothing else.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError

from omnidrop.auth.errors import AuthError
from omnidrop.protocols.body import request_body
from omnidrop.protocols.presigned_parts import PART_PATH, receive_part
from omnidrop.protocols.s3_requests import (
    ACTIONS, MAX_COMPLETE_BYTES, S3_PATH, UnsupportedRequest, complete_result, initiate_result, list_parts_result,
    parse_complete,
)
from omnidrop.surfaces.common import Int64, Refusal, StorageFull, error_route
from omnidrop.uploads.errors import UploadError

# omnidrop's error codes in S3's words and statuses.
S3_CODES = {
    "no_such_upload": ("NoSuchUpload", 404),
    "invalid_part_number": ("InvalidArgument", 400),
    "part_too_large": ("EntityTooLarge", 400),
    "incomplete_body": ("IncompleteBody", 400),  # the client dropped mid-PUT; the answer reaches no one
    "invalid_part": ("InvalidPart", 400),
    "invalid_part_order": ("InvalidPartOrder", 400),
    "entity_too_small": ("EntityTooSmall", 400),
    "malformed_part_list": ("MalformedXML", 400),
    "unsupported_request": ("MalformedXML", 400),
}


def s3_error(code: str, message: str, status: int) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>'
    return Response(body, status_code=status, media_type="application/xml")


def render_error(exc: Exception) -> Response:
    if isinstance(exc, AuthError):
        return s3_error(exc.code, str(exc), exc.status)
    if isinstance(exc, StorageFull):  # S3 has no such answer; its nearest would be a 503 SlowDown
        return s3_error("InsufficientStorage", str(exc), exc.status)
    if isinstance(exc, Refusal):
        return s3_error("InvalidRequest", str(exc), exc.status)
    if isinstance(exc, UploadError):
        code, status = S3_CODES.get(exc.code, ("InvalidRequest", 400))
        return s3_error(code, str(exc), status)
    assert isinstance(exc, RequestValidationError)
    return s3_error("InvalidArgument", "malformed part URL", 400)


router = APIRouter(route_class=error_route(render_error), include_in_schema=False)


# `{number}` checked as a parameter, not by Starlette's `:int` path convertor, which raises on a
# number of thousands of digits (a server error) instead of refusing it.
@router.api_route(PART_PATH, methods=["PUT", "GET", "POST", "DELETE"])
async def put_part(upload_id: str, number: Int64, request: Request) -> Response:
    services = request.app.state.services
    # Any other method fails the signature check inside, before the body is read.
    part = await receive_part(services.parts, services.signer, request, upload_id, number)
    # Browsers only let Uppy read the ETag because the CORS middleware exposes it (surfaces/cors.py).
    return Response(status_code=200, headers={"ETag": part.etag})


def _bucket(request: Request) -> str:
    return getattr(request.app.state.services.store, "bucket", "local")


def _xml(body: str) -> Response:
    return Response(body, media_type="application/xml")


@router.api_route(S3_PATH.replace("{action}", "{action:str}"), methods=["GET", "POST", "PUT", "DELETE"])
async def s3_request(upload_id: str, action: str, request: Request) -> Response:
    services = request.app.state.services
    parts = services.parts
    # Signed over method and path: the URL does the one request it was signed for.
    services.signer.verify(request.method, request.url.path, dict(request.query_params))
    if ACTIONS.get(action) != request.method:
        raise UnsupportedRequest(f"{request.method} {action}")
    upload = await parts.get(upload_id)
    if action == "create":
        return _xml(initiate_result(_bucket(request), upload))
    if action == "parts":
        return _xml(list_parts_result(_bucket(request), upload, await parts.list_parts(upload)))
    if action == "abort":
        await parts.abort(upload)
        return Response(status_code=204)
    if action == "object":  # PutObject: the whole body is the one part
        part = await parts.receive_part(upload.id, 1, request_body(request))
        await parts.complete(upload, [(1, part.etag)])
        return Response(status_code=200, headers={"ETag": part.etag})
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_COMPLETE_BYTES:
            raise UnsupportedRequest("the part list is over 1 MiB")
    done = await parts.complete(upload, parse_complete(body))
    return _xml(complete_result(f"{_bucket(request)}/{done.key}", _bucket(request), done))

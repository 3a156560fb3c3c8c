"""omnidrop's own presigned part URLs (local-disk store): `PUT /_omnidrop/parts/{upload}/{number}`.

They stand in for S3's UploadPart URLs, so they answer like S3: the part's ETag in the `ETag` header,
errors as `<Error><Code>…</Code><Message>…</Message></Error>` XML. The signature covers the method,
so the URL works for the PUT it was made for and nothing else.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError

from omnidrop.auth.errors import AuthError
from omnidrop.protocols.presigned_parts import PART_PATH, receive_part
from omnidrop.surfaces.common import error_route
from omnidrop.uploads.errors import UploadError

# omnidrop's error codes in S3's words and statuses.
S3_CODES = {
    "no_such_upload": ("NoSuchUpload", 404),
    "invalid_part_number": ("InvalidArgument", 400),
    "part_too_large": ("EntityTooLarge", 400),
}


def s3_error(code: str, message: str, status: int) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>'
    return Response(body, status_code=status, media_type="application/xml")


def render_error(exc: Exception) -> Response:
    if isinstance(exc, AuthError):
        return s3_error(exc.code, str(exc), exc.status)
    if isinstance(exc, UploadError):
        code, status = S3_CODES.get(exc.code, ("InvalidRequest", 400))
        return s3_error(code, str(exc), status)
    assert isinstance(exc, RequestValidationError)
    return s3_error("InvalidArgument", "malformed part URL", 400)


router = APIRouter(route_class=error_route(render_error), include_in_schema=False)


@router.api_route(PART_PATH.replace("{number}", "{number:int}"), methods=["PUT", "GET", "POST", "DELETE"])
async def put_part(upload_id: str, number: int, request: Request) -> Response:
    services = request.app.state.services
    # Any other method fails the signature check inside, before the body is read.
    part = await receive_part(services.parts, services.signer, request, upload_id, number)
    # Browsers only let Uppy read the ETag because the CORS middleware exposes it (surfaces/cors.py).
    return Response(status_code=200, headers={"ETag": part.etag})

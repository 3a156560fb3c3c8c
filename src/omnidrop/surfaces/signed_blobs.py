"""`GET /_omnidrop/blobs/<key>`: derived assets behind URLs omnidrop signed (local-disk store)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from omnidrop.auth.errors import AuthError
from omnidrop.protocols.signed_urls import BLOB_PREFIX, serve_signed_blob
from omnidrop.surfaces.common import Refusal, error_route
from omnidrop.uploads.errors import UploadError


def render_error(exc: Exception) -> Response:
    if isinstance(exc, AuthError):  # SignatureInvalid / SignatureExpired: 403
        return JSONResponse({"error": exc.code, "message": str(exc)}, status_code=exc.status)
    if isinstance(exc, Refusal):
        return JSONResponse({"error": exc.code, "message": str(exc)}, status_code=exc.status)
    assert isinstance(exc, (RequestValidationError, UploadError))
    return JSONResponse({"error": "invalid_request", "message": str(exc)}, status_code=400)


router = APIRouter(route_class=error_route(render_error), include_in_schema=False)


@router.api_route(BLOB_PREFIX + "{key:path}", methods=["GET"])
async def signed_blob(key: str, request: Request) -> Response:
    services = request.app.state.services
    return await serve_signed_blob(services.store, services.signer, request)

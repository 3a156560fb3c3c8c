"""The File Upload API (`specs/file-upload-api.md`): upload sessions and whole or chunked PUTs.

Errors are `{"error": "<code>", ...}` with the status carrying the meaning, exactly as the spec lists.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from omnidrop.auth.errors import AuthError, InsufficientScope
from omnidrop.auth.keys import Principal
from omnidrop.auth.scopes import PROJECTS_WRITE
from omnidrop.protocols.content_range import put_file
from omnidrop.surfaces.common import bearer_principal, core, error_route
from omnidrop.uploads.core import FileProgress
from omnidrop.uploads.errors import TotalMismatch, UploadError

STATUS = {
    "invalid_upload_id": 400,
    "invalid_filename": 400,
    "invalid_content_range": 400,
    "chunk_length_mismatch": 400,
    "upload_session_not_found": 404,
    "file_not_found": 404,
    "non_contiguous_chunk": 409,
    "upload_in_progress": 409,
    "length_required": 411,
    "file_too_large": 413,
    "session_too_large": 413,
    "extension_not_allowed": 415,
}
# Detail fields the spec promises with a code; the rest of an error's details stay internal.
PUBLIC_DETAILS = {"received", "limit", "extension", "allowed", "total"}


def render_error(exc: Exception) -> Response:
    if isinstance(exc, TotalMismatch):  # the declared total contradicts the file: a bad range
        return JSONResponse({"error": "invalid_content_range", "total": exc.details["total"]}, status_code=400)
    if isinstance(exc, UploadError):
        body = {"error": exc.code, **{k: v for k, v in exc.details.items() if k in PUBLIC_DETAILS}}
        return JSONResponse(body, status_code=STATUS.get(exc.code, 400))
    if isinstance(exc, AuthError):
        body = {"error": exc.code}
        if isinstance(exc, InsufficientScope):
            body["required_scope"] = exc.required
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(body, status_code=exc.status, headers=headers)
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"error": "invalid_request", "detail": exc.errors()}, status_code=400)


router = APIRouter(prefix="/api/v1", route_class=error_route(render_error), tags=["file upload"])


async def writer(principal: Principal = Depends(bearer_principal)) -> Principal:
    principal.require(PROJECTS_WRITE)
    return principal


def _progress(p: FileProgress) -> dict:
    return {"received": p.received, "total": p.total, "complete": p.complete}


@router.post("/uploads", status_code=201)
async def create_upload(request: Request, who: Principal = Depends(writer)) -> dict:
    session = await core(request).create_session(who.owner_id)
    return {"upload_id": session.id, "expires_in_seconds": core(request).limits.ttl_seconds}


@router.put("/uploads/{upload_id}/{filename:path}")
async def put_upload_file(upload_id: str, filename: str, request: Request, who: Principal = Depends(writer)) -> dict:
    return _progress(await put_file(core(request), who.owner_id, upload_id, filename, request))


@router.get("/uploads/{upload_id}/{filename:path}")
async def get_upload_file(upload_id: str, filename: str, request: Request, who: Principal = Depends(writer)) -> dict:
    return _progress(await core(request).get_file(who.owner_id, upload_id, filename))


@router.get("/uploads/{upload_id}")
async def get_upload(upload_id: str, request: Request, who: Principal = Depends(writer)) -> dict:
    session = await core(request).get_session(who.owner_id, upload_id)
    return {"upload_id": session.id, "files": [{"name": f.name, **_progress(f)} for f in session.files]}


@router.delete("/uploads/{upload_id}")
async def delete_upload(upload_id: str, request: Request, who: Principal = Depends(writer)) -> dict:
    await core(request).delete_session(who.owner_id, upload_id)
    return {"deleted": True}

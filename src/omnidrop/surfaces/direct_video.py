"""The Direct Video Upload API (`specs/direct-video-upload-api.md`) under `/api/videos/uploads`.

Auth: `X-SPATIALGEN-APPKEY: <key>` with the `videos:admin` or `videos:upload` role.
Errors: `{"error": {"code": "<code>", "message": "<text>"}}` with the status carrying the meaning.
The document leaves the cancel route unnamed: it is `POST /api/videos/uploads/{uploadSessionId}/cancel`.
Completed groups are listed at `GET /api/videos/library`. Added fields (the document has none for
it): `verification` on a group and each library item (pending, verifying, verified, or failed with
`code` and `message`; `unverified` with `code` `unchecked_aime` when every file passed but an AIME file
could only be accepted unchecked, or with no code for entries made before verification existed) and
`probe` on each file (what probing its content found; `checked: false` when nothing could be checked).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from omnidrop.auth.errors import AuthError, InsufficientScope, MissingCredentials
from omnidrop.auth.keys import Principal
from omnidrop.auth.scopes import VIDEOS_ADMIN, VIDEOS_UPLOAD
from omnidrop.protocols.presigned_parts import part_url
from omnidrop.protocols.signed_urls import blob_url
from omnidrop.surfaces.common import (
    Int64, Refusal, authenticate, error_route, validation_errors, validation_message,
)
from omnidrop.uploads.errors import UploadError
from omnidrop.uploads.parts import NoSuchUpload
from omnidrop.videos.service import FileSpec, GroupView, VideoUploadError, VideoUploads

HEADER = "X-SPATIALGEN-APPKEY"


def _error(code: str, message: str, status: int) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def render_error(exc: Exception) -> Response:
    if isinstance(exc, RequestValidationError):
        details = validation_errors(exc)
        return JSONResponse({"error": {"code": "invalid_request", "message": validation_message(exc), "details": details}}, 400)
    if isinstance(exc, AuthError):
        return _error(exc.code, str(exc), exc.status)
    if isinstance(exc, Refusal):
        return _error(exc.code, str(exc), exc.status)
    if isinstance(exc, VideoUploadError):
        return _error(exc.code, str(exc), exc.status)
    if isinstance(exc, NoSuchUpload):
        return _error("upload_not_found", str(exc), 404)
    assert isinstance(exc, UploadError)  # part list refusals: invalid_part, entity_too_small, ...
    return _error(exc.code, str(exc), 400)


router = APIRouter(prefix="/api/videos", route_class=error_route(render_error), tags=["direct video upload"])


async def app_key(request: Request) -> Principal:
    token = request.headers.get(HEADER)
    if not token:
        raise MissingCredentials(f"send your API key in the {HEADER} header")
    who = await authenticate(request, token.strip())
    if not who.scopes & {VIDEOS_ADMIN, VIDEOS_UPLOAD}:
        raise InsufficientScope(VIDEOS_UPLOAD)
    return who


Who = Annotated[Principal, Depends(app_key)]


def uploads(request: Request) -> VideoUploads:
    return request.app.state.services.videos


class FileIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    role: str
    filename: str = Field(min_length=1, max_length=255)
    size: Int64 = Field(gt=0)
    content_type: str | None = Field(None, alias="contentType", max_length=128)


class CreateGroup(BaseModel):
    title: str | None = Field(None, max_length=500)
    layout: str
    files: list[FileIn] = Field(min_length=1, max_length=50)


class PartUrlsIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    part_numbers: list[Int64] | None = Field(None, alias="partNumbers", max_length=10_000)


class PartIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    part_number: Int64 = Field(alias="partNumber")
    etag: str = Field(alias="etag")


class CompleteIn(BaseModel):
    parts: list[PartIn]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def verification_json(view: GroupView) -> dict | None:
    """Added by omnidrop: the library entry's verification (None until the group is complete)."""
    entry = view.library
    if entry is None:
        return None
    return {"status": entry.verification_state or "pending", "code": entry.verification_code,
            "message": entry.verification_message, "verifiedAt": _iso(entry.verified_at),
            "eyes": (entry.verification or {}).get("eyes")}


def _probe(view: GroupView, file_id: str) -> dict | None:
    found = ((view.library.verification or {}).get("files", {}) if view.library else {}).get(file_id)
    if found is None:
        return None
    return {k: v for k, v in found.items() if k not in ("role", "filename")}


def group_json(view: GroupView) -> dict:
    g = view.group
    return {
        "uploadSessionId": g.id, "title": g.title, "layout": g.layout, "status": g.state,
        "createdAt": _iso(g.created_at), "expiresAt": _iso(g.expires_at), "completedAt": _iso(g.completed_at),
        "libraryId": view.library_id,
        "files": [{
            "uploadId": f.id, "role": f.role, "filename": f.filename, "size": f.size, "contentType": f.content_type,
            "partSize": f.part_size, "partCount": f.part_count, "status": f.state, "probe": _probe(view, f.id),
        } for f in view.files],
        "verification": verification_json(view),
    }


@router.post("/uploads", status_code=201)
async def create_group(body: CreateGroup, request: Request, who: Who) -> dict:
    specs = [FileSpec(f.role, f.filename, f.size, f.content_type) for f in body.files]
    return group_json(await uploads(request).create(who.owner_id, body.title, body.layout, specs))


@router.get("/uploads")
async def list_groups(request: Request, who: Who, limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                      offset: Annotated[Int64, Query(ge=0)] = 0) -> dict:
    """The key owner's upload groups in every state, newest first (not in the document)."""
    return {"items": [group_json(v) for v in await uploads(request).list_groups(who.owner_id, limit, offset)]}


@router.get("/uploads/{upload_session_id}")
async def get_group(upload_session_id: str, request: Request, who: Who) -> dict:
    return group_json(await uploads(request).view(who.owner_id, upload_session_id))


@router.post("/uploads/{upload_session_id}/files/{upload_id}/part-urls")
async def part_urls(upload_session_id: str, upload_id: str, request: Request, who: Who,
                    body: PartUrlsIn | None = None) -> dict:
    services = request.app.state.services
    ttl = services.settings.part_url_expires_seconds

    def url_for(upload, number: int) -> str:
        return part_url(services.parts, services.signer, upload, number, str(request.base_url), ttl)

    numbers = body.part_numbers if body else None
    file, urls = await uploads(request).part_urls(who.owner_id, upload_session_id, upload_id, numbers, url_for)
    return {
        "uploadId": file.id, "partSize": file.part_size, "partCount": file.part_count, "expiresIn": ttl,
        "parts": [{"partNumber": n, "url": url, "method": "PUT"} for n, url in urls],
    }


@router.post("/uploads/{upload_session_id}/files/{upload_id}/complete")
async def complete_file(upload_session_id: str, upload_id: str, body: CompleteIn, request: Request,
                        who: Who) -> dict:
    parts = [(p.part_number, p.etag) for p in body.parts]
    view = await uploads(request).complete_file(who.owner_id, upload_session_id, upload_id, parts)
    file = next(f for f in view.files if f.id == upload_id)
    return {"uploadId": file.id, "status": file.state, "uploadSession": group_json(view)}


@router.get("/uploads/{upload_session_id}/files/{upload_id}/url")
async def file_url(upload_session_id: str, upload_id: str, request: Request, who: Who) -> dict:
    """Added by omnidrop: a signed GET URL (Range requests work) for a completed file, so a <video>
    element, which cannot send the key header, can play it."""
    services = request.app.state.services
    key = await uploads(request).stored_key(who.owner_id, upload_session_id, upload_id)
    ttl = services.settings.signed_url_expires_seconds
    return {"uploadId": upload_id, "url": blob_url(services.store, services.signer, str(request.base_url), key, ttl),
            "expiresIn": ttl}


@router.post("/uploads/{upload_session_id}/cancel")
async def cancel_group(upload_session_id: str, request: Request, who: Who) -> dict:
    return group_json(await uploads(request).cancel(who.owner_id, upload_session_id))


@router.get("/library")
async def library(request: Request, who: Who, limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                  offset: Annotated[Int64, Query(ge=0)] = 0) -> dict:
    views = await uploads(request).library(who.owner_id, limit, offset)
    return {"items": [group_json(v) for v in views]}

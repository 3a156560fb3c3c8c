"""The File Upload API (`specs/file-upload-api.md`): upload sessions, whole or chunked PUTs, projects.

Errors are `{"error": "<code>", ...}` with the status carrying the meaning, exactly as the spec lists.
Every route is rate limited per API key as the spec's table says.
"""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from omnidrop.auth.errors import AuthError, InsufficientScope
from omnidrop.auth.keys import Principal
from omnidrop.auth.rate_limits import RateLimited
from omnidrop.auth.scopes import PROJECTS_READ, PROJECTS_WRITE
from omnidrop.protocols.content_range import put_file
from omnidrop.protocols.downloads import blob_response
from omnidrop.projects.errors import ProjectNotFound
from omnidrop.projects.service import READY, NewProject, ProjectView
from omnidrop.surfaces.common import Int64, Refusal, core, error_route, guard, validation_errors
from omnidrop.uploads.adoption import SourceNotFound, adopt_blob, adopt_resumable
from omnidrop.uploads.core import FileProgress
from omnidrop.uploads.errors import FileNotFound, TariffForbidsUpload, TotalMismatch, UploadError
from omnidrop.uploads.parts import COMPLETED, NoSuchUpload

STATUS = {
    "invalid_upload_id": 400,
    "invalid_filename": 400,
    "invalid_content_range": 400,
    "chunk_length_mismatch": 400,
    "upload_id_or_download_link_required": 400,
    "provide_either_upload_id_or_download_link": 400,
    "project_creation_failed": 400,
    "invalid_download_link": 400,
    "storage_quota_exceeded": 402,
    "tariff_forbids_upload": 403,
    "tariff": 403,
    "upload_session_not_found": 404,
    "source_upload_not_found": 404,
    "file_not_found": 404,
    "project_not_found": 404,
    "non_contiguous_chunk": 409,
    "file_exists": 409,
    "upload_in_progress": 409,
    "length_required": 411,
    "file_too_large": 413,
    "options_too_large": 413,
    "session_too_large": 413,
    "extension_not_allowed": 415,
}
# Detail fields the spec promises with a code (and a few that help a client); the rest stay internal.
PUBLIC_DETAILS = {"received", "limit", "extension", "allowed", "total", "files", "used"}


class OptionsTooLarge(UploadError):
    """More unknown fields than the project keeps under `options` (it echoes them on every GET)."""

    code = "options_too_large"


class Tariff(UploadError):
    """POST /projects names the plan refusal `tariff`, where POST /uploads says `tariff_forbids_upload`."""

    code = "tariff"


def render_error(exc: Exception) -> Response:
    if isinstance(exc, TotalMismatch):  # the declared total contradicts the file: a bad range
        return JSONResponse({"error": "invalid_content_range", "total": exc.details["total"]}, status_code=400)
    if isinstance(exc, UploadError):
        body = {"error": exc.code, **{k: v for k, v in exc.details.items() if k in PUBLIC_DETAILS}}
        return JSONResponse(body, status_code=STATUS.get(exc.code, 400))
    if isinstance(exc, Refusal):
        return JSONResponse({"error": exc.code, **exc.details}, status_code=exc.status)
    if isinstance(exc, RateLimited):
        return JSONResponse({"error": "rate_limited", "limit": exc.limit, "retry_after": exc.retry_after},
                            status_code=429, headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, AuthError):
        body = {"error": exc.code}
        if isinstance(exc, InsufficientScope):
            body["required_scope"] = exc.required
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(body, status_code=exc.status, headers=headers)
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"error": "invalid_request", "detail": validation_errors(exc)}, status_code=400)


router = APIRouter(prefix="/api/v1", route_class=error_route(render_error), tags=["file upload"])


def _progress(p: FileProgress) -> dict:
    return {"received": p.received, "total": p.total, "complete": p.complete}


@router.post("/uploads", status_code=201)
async def create_upload(request: Request, who: Principal = guard("POST /uploads", PROJECTS_WRITE)) -> dict:
    session = await core(request).create_session(who.owner_id)
    return {"upload_id": session.id, "expires_in_seconds": core(request).limits.ttl_seconds}


@router.put("/uploads/{upload_id}/{filename:path}")
async def put_upload_file(upload_id: str, filename: str, request: Request,
                          who: Principal = guard("PUT /uploads/…/{filename}", PROJECTS_WRITE)) -> dict:
    return _progress(await put_file(core(request), who.owner_id, upload_id, filename, request))


@router.get("/uploads/{upload_id}/{filename:path}")
async def get_upload_file(upload_id: str, filename: str, request: Request,
                          who: Principal = guard("GET /uploads/…/{filename}", PROJECTS_WRITE)) -> dict:
    return _progress(await core(request).get_file(who.owner_id, upload_id, filename))


@router.get("/uploads/{upload_id}")
async def get_upload(upload_id: str, request: Request,
                     who: Principal = guard("GET /uploads/{upload_id}", PROJECTS_WRITE)) -> dict:
    session = await core(request).get_session(who.owner_id, upload_id)
    return {"upload_id": session.id, "files": [{"name": f.name, **_progress(f)} for f in session.files]}


@router.delete("/uploads/{upload_id}")
async def delete_upload(upload_id: str, request: Request,
                        who: Principal = guard("DELETE /uploads/{upload_id}", PROJECTS_WRITE)) -> dict:
    await core(request).delete_session(who.owner_id, upload_id)
    return {"deleted": True}


class MultipartRef(BaseModel):
    uploadId: str = Field(min_length=1)  # noqa: N815 - Companion's names, as Uppy reports them
    key: str = Field(min_length=1)


class AddFile(BaseModel):
    """Bytes that arrived another way (not in the spec): a finished tus/IETF upload by its URL, or a
    completed `/s3/multipart` (Companion) upload, added to the session as `filename`."""

    filename: str = Field(min_length=1)
    tus_url: str | None = None
    multipart: MultipartRef | None = None


@router.post("/uploads/{upload_id}/files", status_code=201)
async def add_file(upload_id: str, body: AddFile, request: Request,
                   who: Principal = guard("PUT /uploads/…/{filename}", PROJECTS_WRITE)) -> dict:
    """The web app's way to gather tus and multipart uploads into one session before POST /projects."""
    uploads = core(request)
    if (body.tus_url is None) == (body.multipart is None):  # checked here: a validator's error is not JSON-safe
        raise RequestValidationError([{"loc": ["body"], "msg": "give tus_url or multipart, not both", "type": "value_error"}])
    if body.tus_url is not None:
        tus_base = "/" + request.app.state.services.settings.tus_path.strip("/") + "/"
        path = urlsplit(body.tus_url).path
        if not path.startswith(tus_base) or "/" in path[len(tus_base):].strip("/"):
            raise SourceNotFound(f"not an upload URL under {tus_base}: {body.tus_url!r}")
        got = await adopt_resumable(uploads, who.owner_id, upload_id, body.filename, path[len(tus_base):].strip("/"))
    else:
        ref = body.multipart
        try:
            mpu = await request.app.state.services.parts.get(ref.uploadId, who.owner_id)
        except NoSuchUpload:
            raise SourceNotFound(f"no multipart upload {ref.uploadId!r}") from None
        if mpu.key != ref.key or mpu.state != COMPLETED or mpu.size is None:
            raise SourceNotFound(f"multipart upload {ref.uploadId!r} is not a completed upload of {ref.key!r}")
        got = await adopt_blob(uploads, who.owner_id, upload_id, body.filename, blob_key=mpu.key, size=mpu.size)
    return {"name": got.name, **_progress(got)}


@router.get("/projects")
async def list_projects(request: Request, who: Principal = guard("GET /projects", PROJECTS_READ),
                        limit: Annotated[int, Query(ge=1, le=500)] = 100,
                        offset: Annotated[Int64, Query(ge=0)] = 0) -> dict:
    """The owner's projects, newest first (not in the spec; the web app lists them). Its own rate-limit
    bucket, so a polling library page does not eat the spec's 60/minute of GET /projects/{name}."""
    rows = await request.app.state.services.projects.list_recent(who.owner_id, limit, offset)
    return {"projects": [{
        "name": p.name, "title": p.title, "status": 100 if p.state == "failed" else p.status, "state": p.state,
        **({"error": p.error_code, "message": p.error_message} if p.state == "failed" else {}),
        "created_at": p.created_at.isoformat(), "ready_at": p.ready_at.isoformat() if p.ready_at else None,
    } for p in rows]}


class ProjectRequest(BaseModel):
    # The spec's "many other optional processing fields" are kept as given, in `options`.
    model_config = ConfigDict(extra="allow")
    upload_id: str | None = None
    download_link: str | None = None
    title: str | None = None
    privacy_mode: Int64 | None = None


@router.post("/projects", status_code=201)
async def create_project(body: ProjectRequest, request: Request,
                         who: Principal = guard("POST /projects", PROJECTS_WRITE)) -> dict:
    options = dict(body.model_extra or {})
    limit = request.app.state.services.settings.max_project_options_bytes
    if len(json.dumps(options, separators=(",", ":"))) > limit:
        raise OptionsTooLarge(f"the unknown fields kept under options exceed {limit} bytes", limit=limit)
    new = NewProject(upload_id=body.upload_id, download_link=body.download_link, title=body.title,
                     privacy_mode=body.privacy_mode, options=options)
    try:
        project = await request.app.state.services.projects.create(who.owner_id, new)
    except TariffForbidsUpload as exc:
        raise Tariff(str(exc)) from None
    return {"name": project.name, "status": project.status, "message": "processing_started"}


@router.get("/projects/{name}")
async def get_project(name: str, request: Request, who: Principal = guard("GET /projects/{name}", PROJECTS_READ)) -> dict:
    return project_record(await request.app.state.services.projects.get(who.owner_id, name), request)


@router.get("/projects/{name}/files/{filename:path}", name="project_file")
async def download_project_file(name: str, filename: str, request: Request,
                                who: Principal = guard("GET /projects/{name}/files", PROJECTS_READ)) -> Response:
    view = await request.app.state.services.projects.get(who.owner_id, name)
    return await _blob_of(view, request, lambda f: f.blob_key if f.name == filename else None)


@router.get("/projects/{name}/assets/{role}/{filename:path}", name="project_asset")
async def download_project_asset(name: str, role: str, filename: str, request: Request,
                                 who: Principal = guard("GET /projects/{name}/files", PROJECTS_READ)) -> Response:
    view = await request.app.state.services.projects.get(who.owner_id, name)
    return await _blob_of(view, request, lambda f: f.assets.get(role) if f.name == filename else None)


async def _blob_of(view: ProjectView, request: Request, pick) -> Response:
    if view.project.state != READY:
        raise ProjectNotFound("the project is not ready" if view.project.state != "failed" else "the project failed")
    key = next((k for f in view.files if (k := pick(f))), None)
    if key is None:
        raise FileNotFound("no such file in this project")
    return await blob_response(request.app.state.services.store, key, request.headers.get("range"))


def project_record(view: ProjectView, request: Request) -> dict:
    """`{name, status}` while processing; the full record at 100, a failed project's with its reason."""
    p = view.project
    failed = p.state == "failed"
    if p.status < 100 and not failed:
        return {"name": p.name, "status": p.status}
    files = []
    for f in [] if failed else view.files:
        entry = {"name": f.name, "size": f.size, "type": f.kind, "mime": f.mime, "sha256": f.sha256,
                 "origin": f.origin, "details": f.details,
                 "url": str(request.url_for("project_file", name=p.name, filename=f.name))}
        entry["assets"] = {role: str(request.url_for("project_asset", name=p.name, role=role, filename=f.name))
                           for role in f.assets}
        if (details := f.details or {}).get("error"):  # this file could not be converted; the others were
            entry["error"], entry["message"] = details["error"], details.get("error_message", "")
        files.append(entry)
    # A failed project ends at status 100 too (a client polling until 100 stops), with state "failed",
    # the reason in error/message, and no files.
    return {
        "name": p.name, "status": 100, "state": p.state, "title": p.title, "privacy_mode": p.privacy_mode,
        "source": {"upload_id": p.upload_session_id} if p.upload_session_id else {"download_link": p.download_link},
        "options": p.options, "created_at": p.created_at.isoformat(),
        "ready_at": p.ready_at.isoformat() if p.ready_at else None, "files": files,
        # Archive entries not unpacked (extension not allowed), only when there were any.
        **({"refused_entries": p.refused_entries} if p.refused_entries else {}),
        **({"error": p.error_code, "message": p.error_message} if failed else {}),
    }

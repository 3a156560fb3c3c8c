"""The File Upload API (`/api/v1`): answers, errors and auth as the OpenAPI document shows them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from omnidrop.openapi import security
from omnidrop.openapi.operation import BINARY, Body, Operation, Surface, header, path

W, R = "projects:write", "projects:read"


class FileUploadError(BaseModel):
    """`{"error": "<code>", …}`: the status carries the meaning; some codes add details."""

    model_config = ConfigDict(extra="allow")
    error: str = Field(description="the code, e.g. non_contiguous_chunk")
    received: int | None = Field(None, description="bytes the server holds (409): resume from there")
    limit: Any = Field(None, description="the size cap (413), quota (402) or rate limit (429)")
    used: int | None = Field(None, description="bytes already used of the quota (402)")
    extension: str | None = Field(None, description="the refused extension (415)")
    allowed: list[str] | None = Field(None, description="the allowed extensions (415)")
    total: int | None = Field(None, description="the total the file was started with (400 invalid_content_range)")
    required_scope: str | None = Field(None, description="the scope the key lacks (403 insufficient_scope)")
    retry_after: int | None = Field(None, description="seconds to wait (429)")


class UploadSessionCreated(BaseModel):
    upload_id: str
    expires_in_seconds: int = Field(description="the session is deleted after this long without writes")


class FileProgress(BaseModel):
    received: int = Field(description="bytes durably stored: the next chunk starts here")
    total: int | None = Field(description="the file's size, once known")
    complete: bool


class SessionFile(FileProgress):
    name: str


class UploadSession(BaseModel):
    upload_id: str
    files: list[SessionFile]


class Deleted(BaseModel):
    deleted: bool


class ProjectSummary(BaseModel):
    name: str
    title: str | None
    status: int = Field(description="0..100")
    state: str
    error: str | None = Field(None, description="only when state is failed")
    message: str | None = Field(None, description="only when state is failed")
    created_at: str
    ready_at: str | None


class ProjectList(BaseModel):
    projects: list[ProjectSummary]


class ProjectCreated(BaseModel):
    name: str
    status: int
    message: str = Field(description="processing_started")


class ProjectFile(BaseModel):
    name: str
    size: int
    type: str = Field(description="image, video_360, video, point_cloud, splat, cad_bim, archive or other")
    mime: str | None
    sha256: str | None
    origin: str | None = Field(description="`archive.zip:path/in/archive` for unpacked entries")
    details: dict[str, Any] | None
    url: str = Field(description="download URL (Range supported)")
    assets: dict[str, str] = Field(description="derived files by role, e.g. thumbnail, bim_model, model (GLB), sog, spz")
    error: str | None = Field(None, description="only when this file could not be converted (e.g. unreadable_ifc); "
                                                "the project and its other files are not affected")
    message: str | None = Field(None, description="why, with error")


class Project(BaseModel):
    """`{name, status}` while processing; the full record at status 100; `state: failed` with
    `error` and `message` when processing failed."""

    name: str
    status: int = Field(description="0..100")
    state: str | None = None
    error: str | None = None
    message: str | None = None
    title: str | None = None
    privacy_mode: int | None = None
    source: dict[str, Any] | None = None
    options: dict[str, Any] | None = None
    created_at: str | None = None
    ready_at: str | None = None
    files: list[ProjectFile] | None = None


class RouteNotFound(BaseModel):
    """The framework's `{"detail": "Not Found"}`: a path no route matches, such as a filename with a line break."""

    detail: str


AUTH = {401: "missing_api_key, invalid_api_key", 403: "insufficient_scope", 429: "rate_limited (with Retry-After)"}
BAD_REQUEST = {400: "invalid_request (malformed parameters or body)"}
DOWNLOAD = {"*/*": BINARY}  # the type follows the file name
# `{filename:path}` takes slashes but no line breaks: a name with one reaches no route (RouteNotFound)
FILENAME = path("filename", "the file's name; slashes and unsafe characters are flattened",
                schema={"type": "string", "pattern": "^[^\\r\\n]+$"})
NO_ROUTE = {404: RouteNotFound}
RANGE = header("Range", "bytes=START-END to read part of the file (206 Partial Content)")

SURFACE = Surface(
    tag="file upload",
    error_model=FileUploadError,
    error_example=lambda status, code: {"error": code, **({"received": 1048576} if status == 409 else {})},
    security=security.bearer(W),
    operations={
        ("POST", "/api/v1/uploads"): Operation(
            ok=UploadSessionCreated,
            errors={**AUTH, 402: "storage_quota_exceeded (with limit, used)", 403: "insufficient_scope, tariff_forbids_upload"}),
        ("PUT", "/api/v1/uploads/{upload_id}/{filename}"): Operation(
            ok=FileProgress, error_alternatives=NO_ROUTE,
            body=Body({"application/octet-stream": BINARY}, description=(
                "The file's bytes: all of it, or one chunk with Content-Range. Resend from `received` after a 409. "
                "A whole-file PUT needs a Content-Length (411 without it); it is HTTP framing, so not listed "
                "as a parameter.")),
            parameters=[
                FILENAME,
                header("Content-Range", "`bytes START-END/TOTAL` for a chunk; leave out to send the whole file. "
                       "START must equal the bytes received so far."),
            ],
            errors={**AUTH, 400: "invalid_upload_id, invalid_filename, invalid_content_range (with total), "
                                 "chunk_length_mismatch",
                    402: "storage_quota_exceeded", 404: "upload_session_not_found",
                    409: "non_contiguous_chunk, upload_in_progress (with received: resume from there)",
                    411: "length_required", 413: "file_too_large, session_too_large (with limit)",
                    415: "extension_not_allowed (with extension, allowed)"}),
        ("GET", "/api/v1/uploads/{upload_id}/{filename}"): Operation(
            ok=FileProgress, parameters=[FILENAME], error_alternatives=NO_ROUTE, errors={**AUTH, 400: "invalid_upload_id, invalid_filename",
                                     404: "upload_session_not_found, file_not_found"}),
        ("GET", "/api/v1/uploads/{upload_id}"): Operation(
            ok=UploadSession, errors={**AUTH, 400: "invalid_upload_id", 404: "upload_session_not_found"}),
        ("DELETE", "/api/v1/uploads/{upload_id}"): Operation(
            ok=Deleted, errors={**AUTH, 400: "invalid_upload_id"}),
        ("POST", "/api/v1/uploads/{upload_id}/files"): Operation(
            ok=SessionFile,
            errors={**AUTH, **BAD_REQUEST, 402: "storage_quota_exceeded",
                    404: "upload_session_not_found, source_upload_not_found", 409: "file_exists",
                    413: "file_too_large, session_too_large", 415: "extension_not_allowed"}),
        ("GET", "/api/v1/projects"): Operation(ok=ProjectList, security=security.bearer(R),
                                               errors={**AUTH, **BAD_REQUEST}),
        ("POST", "/api/v1/projects"): Operation(
            ok=ProjectCreated,
            errors={**AUTH, 400: "upload_id_or_download_link_required, provide_either_upload_id_or_download_link, "
                                 "invalid_upload_id, project_creation_failed, invalid_download_link, invalid_request",
                    402: "storage_quota_exceeded", 403: "insufficient_scope, tariff",
                    404: "upload_session_not_found"}),
        ("GET", "/api/v1/projects/{name}"): Operation(
            ok=Project, security=security.bearer(R), errors={**AUTH, 404: "project_not_found"}),
        ("GET", "/api/v1/projects/{name}/files/{filename}"): Operation(
            ok_media=DOWNLOAD, security=security.bearer(R), parameters=[FILENAME, RANGE], error_alternatives=NO_ROUTE,
            extra_ok={206: "the requested range"},
            errors={**AUTH, 404: "project_not_found (or not ready), file_not_found", 416: "range not satisfiable"}),
        ("GET", "/api/v1/projects/{name}/assets/{role}/{filename}"): Operation(
            ok_media=DOWNLOAD, security=security.bearer(R), parameters=[FILENAME, RANGE], error_alternatives=NO_ROUTE,
            extra_ok={206: "the requested range"},
            errors={**AUTH, 404: "project_not_found (or not ready), file_not_found", 416: "range not satisfiable"}),
    },
)

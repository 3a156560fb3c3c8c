"""The Direct Video Upload API (`/api/videos`) in the document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from omnidrop.openapi import security
from omnidrop.openapi.operation import Operation, Surface


class DirectVideoErrorDetail(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = Field(None, description="invalid_request: each problem")


class DirectVideoError(BaseModel):
    """`{"error": {"code": "<code>", "message": "<text>"}}`."""

    error: DirectVideoErrorDetail


class Verification(BaseModel):
    status: str = Field(description="pending, verifying, verified, unverified or failed")
    code: str | None
    message: str | None
    verifiedAt: str | None  # noqa: N815 - the API's names
    eyes: Any


class GroupFile(BaseModel):
    model_config = ConfigDict(extra="allow")
    uploadId: str  # noqa: N815
    role: str
    filename: str = Field(description="the name as stored: path separators, control and invisible characters "
                                      "(bidi overrides) removed")
    size: int
    contentType: str | None  # noqa: N815
    partSize: int  # noqa: N815
    partCount: int  # noqa: N815
    status: str
    probe: dict[str, Any] | None = Field(description="what probing the content found (once verified)")


class UploadGroup(BaseModel):
    uploadSessionId: str  # noqa: N815
    title: str | None
    layout: str
    status: str
    createdAt: str | None  # noqa: N815
    expiresAt: str | None  # noqa: N815
    completedAt: str | None  # noqa: N815
    libraryId: str | None  # noqa: N815
    files: list[GroupFile]
    verification: Verification | None


class UploadGroups(BaseModel):
    items: list[UploadGroup]


class PartUrl(BaseModel):
    partNumber: int  # noqa: N815
    url: str
    method: str


class PartUrls(BaseModel):
    uploadId: str  # noqa: N815
    partSize: int  # noqa: N815
    partCount: int  # noqa: N815
    expiresIn: int  # noqa: N815
    parts: list[PartUrl]


class FileUrl(BaseModel):
    uploadId: str  # noqa: N815
    url: str = Field(description="signed GET URL of the stored file; Range requests work")
    expiresIn: int  # noqa: N815


class FileCompleted(BaseModel):
    uploadId: str  # noqa: N815
    status: str
    uploadSession: UploadGroup  # noqa: N815


AUTH = {401: "missing_api_key, invalid_api_key", 403: "insufficient_scope"}
BAD = {400: "invalid_request"}
GROUP = {404: "upload_session_not_found", 410: "upload_session_expired"}
FILE = {404: "upload_session_not_found, upload_not_found", 409: "upload_session_cancelled, upload_session_completed",
        410: "upload_session_expired"}
PART_LIST = ("invalid_part, invalid_part_order, entity_too_small, size_mismatch, malformed_part_list, "
             "invalid_part_number, invalid_request")

SURFACE = Surface(
    tag="direct video upload",
    error_model=DirectVideoError,
    error_example=lambda status, code: {"error": {"code": code, "message": "what went wrong, in words"}},
    security=security.spatialgen(),
    operations={
        ("POST", "/api/videos/uploads"): Operation(
            ok=UploadGroup,
            errors={**AUTH, 400: "invalid_layout, invalid_file_roles, unsupported_file_type, invalid_filename, "
                                 "invalid_request"}),
        ("GET", "/api/videos/uploads"): Operation(ok=UploadGroups, errors={**AUTH, **BAD}),
        ("GET", "/api/videos/uploads/{upload_session_id}"): Operation(ok=UploadGroup, errors={**AUTH, **GROUP}),
        ("POST", "/api/videos/uploads/{upload_session_id}/files/{upload_id}/part-urls"): Operation(
            ok=PartUrls, errors={**AUTH, 400: "invalid_part_number, invalid_request", **FILE}),
        ("POST", "/api/videos/uploads/{upload_session_id}/files/{upload_id}/complete"): Operation(
            ok=FileCompleted, errors={**AUTH, 400: PART_LIST, **FILE}),
        ("GET", "/api/videos/uploads/{upload_session_id}/files/{upload_id}/url"): Operation(
            ok=FileUrl, errors={**AUTH, 404: "upload_session_not_found, upload_not_found",
                                409: "upload_not_complete"}),
        ("POST", "/api/videos/uploads/{upload_session_id}/cancel"): Operation(
            ok=UploadGroup, errors={**AUTH, 404: "upload_session_not_found",
                                    409: "upload_session_completed", 410: "upload_session_expired"}),
        ("GET", "/api/videos/library"): Operation(ok=UploadGroups, errors={**AUTH, **BAD}),
    },
)

"""The 360 Walkthrough Upload API (login, projects, drawings, upload objects, points) in the document."""

from __future__ import annotations

from pydantic import BaseModel, Field

from omnidrop.openapi import security
from omnidrop.openapi.operation import BINARY, Body, Operation, Surface

W, R = "projects:write", "projects:read"


class WalkthroughError(BaseModel):
    """`{"error": "<code>", "message": "<text>"}`."""

    error: str
    message: str


class LoginToken(BaseModel):
    token: str = Field(description="send as Authorization: Bearer <token>")
    expires_at: str


class WalkthroughProject(BaseModel):
    id: str
    name: str
    inserted_at: str


class WalkthroughProjects(BaseModel):
    projects: list[WalkthroughProject]


class DrawingBounds(BaseModel):
    north: float
    south: float
    east: float
    west: float


class Drawing(BaseModel):
    id: int
    project_id: str
    name: str
    bounds: DrawingBounds
    image_url: str | None
    image_type: str | None
    inserted_at: str


class Drawings(BaseModel):
    drawings: list[Drawing]


class WalkthroughVideo(BaseModel):
    id: int
    url: str
    title: str
    file_extension: str
    size: int
    inserted_at: str


class UploadObject(BaseModel):
    id: int
    name: str
    project_id: str
    floor_id: int = Field(description="the drawing")
    date: str
    processing_status: str = Field(description="created, queued, processing, done or failed")
    uploaded_by: str
    inserted_at: str
    updated_at: str
    is_timelapse: bool
    images: list[str]
    videos: list[WalkthroughVideo]
    tus_links: list[str]
    asset_type: str | None
    start_position: str | None = Field(description='"lat,lng"')
    end_position: str | None
    target_points_count: int | None
    processing_error: str | None
    points_url: str
    processing_progress: int | None = Field(None, description="0..100 (GET only)")


class UploadObjects(BaseModel):
    uploads: list[UploadObject]


class WalkthroughPoint(BaseModel):
    index: int
    time_seconds: float
    lat: float | None
    lng: float | None
    x: float | None = Field(description="0..1 from the drawing's west edge")
    y: float | None = Field(description="0..1 from the drawing's north edge")
    source: str = Field(description="gps or interpolated")
    panorama_url: str
    width: int
    height: int


class WalkthroughPoints(BaseModel):
    upload_id: str
    processing_status: str
    processing_error: str | None
    drawing_id: str | None
    points: list[WalkthroughPoint]


AUTH = {401: "missing_api_key, invalid_api_key", 403: "insufficient_scope"}
BAD = {400: "invalid_request"}
IMAGE = {m: BINARY for m in ("image/png", "image/jpeg", "image/webp", "image/tiff", "image/svg+xml", "application/pdf")}
CREATE_FIELDS = {"application/x-www-form-urlencoded": {"type": "object", "properties": {
    k: {"type": "string"} for k in ("date", "name", "drawing_id", "uploaded_by")}}}

SURFACE = Surface(
    tag="360 walkthrough",
    error_model=WalkthroughError,
    error_example=lambda status, code: {"error": code, "message": "what went wrong, in words"},
    security=security.bearer_or_login(W),
    operations={
        ("POST", "/auth/login"): Operation(
            ok=LoginToken, security=security.PUBLIC,
            errors={**BAD, 401: "invalid_credentials (wrong username or password)"}),
        ("POST", "/360/projects"): Operation(
            ok=WalkthroughProject, errors={**AUTH, **BAD, 409: "project_exists"}),
        ("GET", "/360/projects"): Operation(ok=WalkthroughProjects, security=security.bearer_or_login(R), errors=AUTH),
        ("POST", "/360/projects/{project_id}/drawings"): Operation(
            ok=Drawing, errors={**AUTH, **BAD, 404: "project_not_found"}),
        ("GET", "/360/projects/{project_id}/drawings"): Operation(
            ok=Drawings, security=security.bearer_or_login(R), errors={**AUTH, 404: "project_not_found"}),
        ("PUT", "/360/drawings/{drawing_id}/image"): Operation(
            ok=Drawing, body=Body(IMAGE, description="the floor plan: PNG, JPEG, WebP, TIFF, SVG or PDF"),
            errors={**AUTH, 400: "invalid_request (not an image this route takes)", 404: "drawing_not_found"}),
        ("GET", "/360/drawings/{drawing_id}/image"): Operation(
            ok_media=IMAGE, security=security.bearer_or_login(R), errors={**AUTH, 404: "drawing_not_found"}),
        ("GET", "/360/projects/{project_id}/uploads"): Operation(
            ok=UploadObjects, security=security.bearer_or_login(R), errors={**AUTH, 404: "project_not_found"}),
        ("POST", "/360/{project_id}/upload"): Operation(
            ok=UploadObject, body=Body(CREATE_FIELDS, required=False,
                                       description="the query's fields may come as a form body instead"),
            errors={**AUTH, 400: "invalid_request (missing field, bad date)",
                    404: "project_not_found, drawing_not_found"}),
        ("GET", "/360/{upload_id}/upload"): Operation(
            ok=UploadObject, security=security.bearer_or_login(R), errors={**AUTH, 404: "upload_not_found"}),
        ("PUT", "/360/{upload_id}/upload"): Operation(
            ok=UploadObject,
            errors={**AUTH, 400: "invalid_request (a URL that is not <host>/files/<id>, bad positions), "
                                 "tus_upload_not_found",
                    404: "upload_not_found", 409: "tus_upload_not_finished, tus_upload_already_linked"}),
        ("GET", "/360/{upload_id}/points"): Operation(
            ok=WalkthroughPoints, security=security.bearer_or_login(R), errors={**AUTH, 404: "upload_not_found"}),
    },
)

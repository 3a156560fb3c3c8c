"""The Vehicles 360 Video API (`/360/upload`, frames, mask frames, cleanup, vehicles) in the document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from omnidrop.openapi import security
from omnidrop.openapi.operation import BINARY, Body, Operation, Surface, query
from omnidrop.vehicles.sides import SIDES

W, R = "vehicles:write", "vehicles:read"


class VehicleErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str = Field(description="e.g. FILE_TOO_LARGE, INVALID_SIDE, JOB_NOT_FOUND, FRAMES_NOT_READY")
    message: str


class VehicleError(BaseModel):
    """`{"error": {"code": "<SPEC_CODE>", "message": …, …details}}`."""

    error: VehicleErrorDetail


class VehicleUpload(BaseModel):
    job_id: str
    key: str
    url: str = Field(description="signed URL of the stored video")
    original_filename: str | None = Field(description="the form's file name as stored: path separators, control "
                                                      "and invisible characters (bidi overrides) removed, at most "
                                                      "255 bytes")
    size: int
    mime_type: str | None
    side: str
    vehicle_uuid: str


class Frames(BaseModel):
    job_id: str
    side: str
    frames: list[str] = Field(description="signed URLs of frame_0001.jpg…, in order")
    total: int
    expires_in: int


class MaskFrame(BaseModel):
    frame: str
    url: str
    polygons_url: str
    source: str
    detections: list[dict[str, Any]]


class MaskFrames(BaseModel):
    vehicle_uuid: str
    side: str
    job_id: str
    mask_frames: list[MaskFrame]
    total: int
    expires_in: int


class MasksImported(BaseModel):
    vehicle_uuid: str
    side: str
    job_id: str
    imported: int


class CleanupDone(BaseModel):
    vehicle_uuid: str
    side: str
    remove_frames: bool
    deleted_videos: int
    deleted_frames: int


class CleanupRequest(BaseModel):
    """The same fields may come in the query string instead."""

    vehicle_uuid: str
    side: str
    remove_frames: bool = True


class Vehicle(BaseModel):
    uuid: str
    name: str | None
    created_at: str


class VehicleList(BaseModel):
    vehicles: list[Vehicle]


class VehicleVideo(BaseModel):
    job_id: str | None
    side: str
    state: str
    frames_total: int | None
    mask_frames: int = Field(0, description="mask frames of this video; ask GET /360/mask-frames only when above 0")
    original_filename: str | None
    size: int | None
    video_stored: bool
    error: str | None
    created_at: str


class VehicleDetail(Vehicle):
    sides: dict[str, list[VehicleVideo]] = Field(description="videos per side: OUTSIDE, INSIDE, OPEN")


AUTH = {401: "MISSING_API_KEY, INVALID_API_KEY", 403: "INSUFFICIENT_SCOPE", 429: "RATE_LIMITED (with Retry-After)"}
SIDE = {"type": "string", "enum": list(SIDES), "description": "any case"}
UUID = {"type": "string", "format": "uuid"}

UPLOAD_FORM = {"multipart/form-data": {
    "type": "object", "required": ["video", "side", "vehicle_uuid"],
    "properties": {
        "video": {**BINARY, "description": "the video, at most 100 MB (.mp4 .avi .mov .wmv .flv .webm .mkv .qt)"},
        "side": SIDE,
        "vehicle_uuid": UUID,
    },
}}

CLEANUP = Operation(
    ok=CleanupDone,
    parameters=[query("vehicle_uuid", "the vehicle (or in the JSON body)", schema=UUID),
                query("side", "the side (or in the JSON body)", schema=SIDE),
                query("remove_frames", "also delete frames, masks and records (default true)",
                      schema={"type": "boolean", "default": True})],
    body=Body({"application/json": {"$ref": "#/components/schemas/CleanupRequest"}}, required=False,
              description="instead of the query string"),
    errors={**AUTH, 400: "INVALID_SIDE, INVALID_VEHICLE_UUID, INVALID_REQUEST", 404: "VEHICLE_NOT_FOUND"},
)

SURFACE = Surface(
    tag="vehicles 360 video",
    error_model=VehicleError,
    error_example=lambda status, code: {"error": {"code": code, "message": "what went wrong, in words"}},
    security=security.vehicles(W),
    operations={
        ("POST", "/360/upload"): Operation(
            ok=VehicleUpload, body=Body(UPLOAD_FORM, description="streamed to storage"),
            errors={**AUTH, 400: "MISSING_VIDEO_FILE, INVALID_FILE_TYPE, INVALID_SIDE, INVALID_VEHICLE_UUID, "
                                 "INVALID_REQUEST",
                    413: "FILE_TOO_LARGE", 500: "UPLOAD_FAILED (the store refused the video)"}),
        ("GET", "/360/frames"): Operation(
            ok=Frames, security=security.vehicles(R),
            errors={**AUTH, 400: "INVALID_SIDE, INVALID_REQUEST",
                    404: "JOB_NOT_FOUND, FRAMES_NOT_READY (with state, progress)",
                    500: "PROCESSING_FAILED (with reason): frame extraction failed"}),
        ("GET", "/360/mask-frames"): Operation(
            ok=MaskFrames, security=security.vehicles(R),
            errors={**AUTH, 400: "INVALID_SIDE, INVALID_VEHICLE_UUID",
                    404: "VEHICLE_NOT_FOUND, FRAMES_NOT_READY, MASKS_NOT_AVAILABLE"}),
        ("POST", "/360/mask-frames"): Operation(
            ok=MasksImported,
            errors={**AUTH, 400: "INVALID_SIDE, INVALID_VEHICLE_UUID, INVALID_MASKS, INVALID_REQUEST",
                    404: "VEHICLE_NOT_FOUND, JOB_NOT_FOUND, FRAMES_NOT_READY",
                    500: "PROCESSING_FAILED: the job's frames failed"}),
        ("POST", "/360/cleanup"): CLEANUP,
        ("DELETE", "/360/cleanup"): CLEANUP,
        ("POST", "/360/vehicles"): Operation(
            ok=Vehicle, errors={**AUTH, 400: "INVALID_VEHICLE_UUID, INVALID_REQUEST"}),
        ("GET", "/360/vehicles"): Operation(ok=VehicleList, security=security.vehicles(R), errors=AUTH),
        ("GET", "/360/vehicles/{vehicle_uuid}"): Operation(
            ok=VehicleDetail, security=security.vehicles(R),
            errors={**AUTH, 400: "INVALID_VEHICLE_UUID", 404: "VEHICLE_NOT_FOUND"}),
    },
    extra_models=(CleanupRequest,),
)

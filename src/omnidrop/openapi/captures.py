"""The Captures API (`/api/v1/captures`, `/share/{sid}/metadata`, `/share/{sid}/video.mp4`) in the document.

The routes already declare their answers (`response_model`); this adds the share metadata, the turntable
video, the errors in FastAPI's shapes, the two ways to send the key, and what `video_url` and
`share_video_url` of CaptureOutput hold.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from omnidrop.openapi import security
from omnidrop.openapi.operation import BINARY, Operation, Surface, header


class ValidationProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str = Field(description="FastAPI's, or a part-list refusal: invalid_part, invalid_part_order, "
                                  "entity_too_small, malformed_part_list, size_mismatch")


class CapturesError(BaseModel):
    """`{"detail": "<message>"}`, or for invalid input (422) `{"detail": [{"loc", "msg", "type"}]}`."""

    detail: str | list[ValidationProblem]


class ShareCamera(BaseModel):
    matrix: Any


class ShareModel(BaseModel):
    url: str
    size: int | None
    id: str | None
    aabb: Any
    resolution_range: Any
    parent: Any


class ShareFrame(BaseModel):
    index: int
    name: str
    url: str | None
    thumbnail_url: str | None
    width: int | None
    height: int | None
    source: str | None = Field(None, description="the zip entry it came from")


class CaptureMetadata(BaseModel):
    eid: str
    sid: str | None
    name: str
    segmented_capture_eid: str | None
    profile_name: str
    lod: bool
    hdr_mode: Any
    nominal_ev: float | None
    tmo_parameters: Any
    model_urls: list[str]
    cameras: list[ShareCamera]
    models: list[ShareModel]
    video_trajectory: Any
    reposition_data: Any
    state: str = Field(description="added by omnidrop: the capture's state")
    frame_count: int = Field(description="added by omnidrop")
    frames: list[ShareFrame] = Field(description="added by omnidrop: empty until processing finished")


VIDEO_FIELDS = {
    "video_url": "the turntable MP4 (H.264, one full turn around the splat) that a GPU worker rendered with "
                 "gsplat after training, as a signed download URL that expires; null while the capture has no "
                 "trained splat, or when its turntable could not be rendered (the splat's notes in "
                 "/share/{sid}/metadata say why)",
    "share_video_url": "the same video at /share/{sid}/video.mp4, which opens without a key while the capture "
                       "is public (it is checked on every request); null for a private capture and while there "
                       "is no turntable",
}


def naive_times(schemas: dict[str, Any]) -> None:
    """CaptureOutput's times are naive UTC unless `time_zone=true` (as the hosted API answers), which
    RFC 3339's `date-time` format does not allow: say so instead of claiming that format. Also says what
    the turntable video's fields hold."""
    for field in ("created", "uploaded"):
        prop = schemas["CaptureOutput"]["properties"][field]
        for schema in [prop, *prop.get("anyOf", [])]:
            if schema.pop("format", None) == "date-time":
                schema["description"] = "ISO 8601, UTC: naive unless time_zone=true, then with +00:00"
    for field, description in VIDEO_FIELDS.items():
        schemas["CaptureOutput"]["properties"][field]["description"] = description


AUTH = {401: "Not authenticated / invalid key", 403: "the key lacks the captures scope"}
INVALID = {422: "invalid input, or a part list S3 would refuse"}
NOT_FOUND = {404: "Capture not found"}

SURFACE = Surface(
    tag="captures",
    error_model=CapturesError,
    adjust_schemas=naive_times,
    error_example=lambda status, code: (
        {"detail": [{"loc": ["body", "bytesize"], "msg": "Input should be greater than 0", "type": "greater_than"}]}
        if status == 422 else {"detail": "Capture not found" if status == 404 else "Not authenticated"}),
    security=security.captures(),
    operations={
        ("GET", "/api/v1/captures"): Operation(errors={**AUTH, **INVALID}),
        ("POST", "/api/v1/captures"): Operation(errors={**AUTH, **INVALID}),
        ("PUT", "/api/v1/captures/{eid}"): Operation(errors={**AUTH, **INVALID, **NOT_FOUND}),
        ("PUT", "/api/v1/captures/{eid}/sharing"): Operation(errors={**AUTH, **INVALID, **NOT_FOUND}),
        ("DELETE", "/api/v1/captures/{eid}"): Operation(errors={**AUTH, **INVALID, **NOT_FOUND}),
        ("POST", "/api/v1/captures/{eid}/create-upload-url/{part_no}"): Operation(
            errors={**AUTH, **INVALID, **NOT_FOUND, 409: "the capture is already uploaded"}),
        ("POST", "/api/v1/captures/{eid}/uploaded"): Operation(errors={**AUTH, **INVALID, **NOT_FOUND}),
        ("GET", "/share/{sid}/video.mp4"): Operation(
            ok_media={"video/mp4": BINARY}, security=[{}, *security.captures()],
            parameters=[header("Range", "bytes=START-END to read part of the video (206 Partial Content)")],
            extra_ok={206: "the requested range"},
            errors={401: "a key was sent for a private capture and is not valid",
                    403: "a key was sent for a private capture and lacks the captures scope",
                    404: "Capture not found (unknown, private and not the owner's key, or no turntable video)",
                    416: "range not satisfiable"}),
        ("GET", "/share/{sid}/metadata"): Operation(
            ok=CaptureMetadata, security=[{}, *security.captures()],
            errors={**INVALID, 401: "a key was sent for a private capture and is not valid",
                    403: "a key was sent for a private capture and lacks the captures scope",
                    404: "Capture not found (unknown, or private and not the owner's key)"}),
    },
)

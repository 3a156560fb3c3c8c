"""The Vehicles 360 Video API (`specs/vehicles-360-video-api.md`): side videos of a vehicle, their
frames at 5 fps behind signed URLs, damage mask frames, cleanup; plus minimal vehicle records.

Errors are `{"error": {"code": "<SPEC_CODE>", "message": …}}` with the spec's statuses. The key goes
in `Authorization: Bearer <key>` (or `X-API-Key`), scope `vehicles:write` to change, `vehicles:read`
to read.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from omnidrop.auth.bearer import bearer_token
from omnidrop.auth.errors import AuthError, MissingCredentials
from omnidrop.auth.keys import Principal
from omnidrop.auth.rate_limits import RateLimited
from omnidrop.auth.scopes import VEHICLES_READ, VEHICLES_WRITE
from omnidrop.pipeline.masks.detector import Detection
from omnidrop.protocols.multipart_form import FormError, FormStream
from omnidrop.protocols.signed_urls import blob_url
from omnidrop.surfaces.common import Refusal, authenticate, error_route, reads_small_body, validation_message
from omnidrop.uploads.ids import new_id
from omnidrop.vehicles.errors import FileTooLarge, MasksNotAvailable, MissingVideoFile, VehicleError
from omnidrop.vehicles.intake import receive
from omnidrop.vehicles.masks import FrameMasks, import_masks
from omnidrop.vehicles.service import VehicleService, ready_frames, video_prefix
from omnidrop.vehicles.sides import SIDES, parse_side, parse_vehicle_uuid

FORM_OVERHEAD = 64 * 1024  # boundaries, part headers and the text fields around the video
DRAIN_LIMIT = 4  # bodies declared beyond this many times the cap are cut off instead of read


def _error(code: str, message: str, status: int, **details: Any) -> Response:
    return JSONResponse({"error": {"code": code, "message": message, **details}}, status_code=status)


def render_error(exc: Exception) -> Response:
    if isinstance(exc, VehicleError):
        return _error(exc.code, exc.message, exc.status, **exc.details)
    if isinstance(exc, FormError):
        return _error("INVALID_REQUEST", str(exc), 400)
    if isinstance(exc, Refusal):
        return _error(exc.code.upper(), str(exc), exc.status)
    if isinstance(exc, RateLimited):
        return JSONResponse({"error": {"code": "RATE_LIMITED", "message": str(exc), "retry_after": exc.retry_after}},
                            status_code=429, headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, AuthError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"error": {"code": exc.code.upper(), "message": str(exc) or exc.code}},
                            status_code=exc.status, headers=headers)
    if isinstance(exc, RequestValidationError):
        text = validation_message(exc)
        return _error("INVALID_REQUEST", text, 400)
    return _error("INVALID_REQUEST", str(exc), 400)


router = APIRouter(route_class=error_route(render_error, VehicleError, FormError), tags=["vehicles 360 video"])


def _key(request: Request) -> str:
    if token := request.headers.get("x-api-key"):
        return token.strip()
    if not request.headers.get("authorization"):
        raise MissingCredentials("send your API key as Authorization: Bearer <key> or X-API-Key")
    return bearer_token(request.headers.get("authorization"))


def caller(route: str, scope: str) -> Any:
    async def check(request: Request) -> Principal:
        who = await authenticate(request, _key(request))
        who.require(scope)
        await request.app.state.services.limiter.hit(route, who.key_id)
        return who

    return Depends(check)


def vehicles(request: Request) -> VehicleService:
    return request.app.state.services.vehicles


def _url(request: Request, key: str) -> str:
    services = request.app.state.services
    return blob_url(services.store, services.signer, str(request.base_url), key,
                    services.settings.signed_url_expires_seconds)


# -- upload ------------------------------------------------------------------------------------


UPLOAD_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["video", "side"],
    "properties": {
        "video": {"type": "string", "format": "binary", "description": "the video, at most 100 MB"},
        "side": {"type": "string", "enum": list(SIDES)},
        "vehicle_uuid": {"type": "string", "format": "uuid",
                         "description": "optional: without it a new vehicle is created and its UUID returned"},
    },
}}}}}


@router.post("/360/upload", status_code=201, openapi_extra=UPLOAD_FORM)
async def upload(request: Request, who: Principal = caller("POST /360/upload", VEHICLES_WRITE)) -> dict:
    """multipart/form-data: `video` (the file), `side`, optional `vehicle_uuid` (a new vehicle without one).
    Streamed to storage."""
    settings = request.app.state.services.settings
    limit = settings.vehicle_max_video_bytes
    declared = request.headers.get("content-length")
    too_big = declared is not None and declared.isdigit() and int(declared) > limit + FORM_OVERHEAD
    if too_big:
        # A client waiting for 100-continue never sends the body; any other is still sending, so read
        # and drop what it declared (up to a bound) for it to get this answer rather than a reset.
        if request.headers.get("expect", "").lower() != "100-continue" and int(declared) <= DRAIN_LIMIT * limit:
            async for _ in request.stream():
                pass
        raise FileTooLarge(f"the video exceeds the {limit} byte limit", limit=limit)
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().lstrip().startswith("multipart/"):
        # A plain form, JSON or no body at all carries no file: the document's MISSING_VIDEO_FILE.
        raise MissingVideoFile("no video file provided: send multipart/form-data with the video in the form "
                               "field 'video'")
    form = FormStream(request.stream(), content_type)
    video_id = new_id(16)
    try:
        got = await receive(form, request.app.state.services.store, limit, f"vehicle-uploads/{video_id}")
    except (VehicleError, FormError):
        # Read the rest (discarding it) so the client, still sending, gets this answer, not a reset.
        await form.drain()
        raise
    job_id = await vehicles(request).accept(who.owner_id, got.vehicle_uuid, got.side, video_id, got.video)
    v = got.video
    return {"job_id": job_id, "key": v.key, "url": _url(request, v.key), "original_filename": v.original_filename,
            "size": v.size, "mime_type": v.mime_type, "side": got.side, "vehicle_uuid": got.vehicle_uuid}


# -- frames ------------------------------------------------------------------------------------


@router.get("/360/frames")
async def frames(request: Request, job_id: str = Query(...), side: str = Query(""),
                 who: Principal = caller("GET /360/frames", VEHICLES_READ)) -> dict:
    side = parse_side(side)
    service = vehicles(request)
    video = await service.by_job(who.owner_id, job_id, side)
    try:
        keys = ready_frames(video)
    except VehicleError as exc:
        if exc.status == 404:
            exc.details["progress"] = await service.progress(job_id)
        raise
    return {"job_id": job_id, "side": side, "frames": [_url(request, k) for k in keys], "total": len(keys),
            "expires_in": request.app.state.services.settings.signed_url_expires_seconds}


# -- mask frames -------------------------------------------------------------------------------


@router.get("/360/mask-frames")
async def mask_frames(request: Request, vehicle_uuid: str = Query(""), side: str = Query(""),
                      who: Principal = caller("GET /360/mask-frames", VEHICLES_READ)) -> dict:
    side, vehicle_uuid = parse_side(side), parse_vehicle_uuid(vehicle_uuid)
    service = vehicles(request)
    video = await service.latest_ready(who.owner_id, vehicle_uuid, side)
    masks = await service.masks(video.id)
    if not masks:
        configured = request.app.state.services.settings.damage_model_path is not None
        why = ("the frames were made before the damage model was configured" if configured
               else "no damage model is configured (OMNIDROP_DAMAGE_MODEL_PATH)")
        raise MasksNotAvailable(f"no mask frames for job {video.job_id}: {why} and no masks were imported "
                                "(POST /360/mask-frames)", job_id=video.job_id, model_configured=configured)
    items = [{"frame": m.frame, "url": _url(request, m.overlay_key), "polygons_url": _url(request, m.json_key),
              "source": m.source, "detections": m.detections} for m in masks]
    return {"vehicle_uuid": vehicle_uuid, "side": side, "job_id": video.job_id, "mask_frames": items,
            "total": len(items), "expires_in": request.app.state.services.settings.signed_url_expires_seconds}


class ImportedDetection(BaseModel):
    label: str = Field(alias="class")
    score: float = 1.0
    polygons: list[list[list[float]]] = Field(default_factory=list)
    polygon: list[list[float]] | None = None  # a single ring, as a convenience

    @model_validator(mode="after")
    def rings(self) -> ImportedDetection:
        if self.polygon:
            self.polygons = [*self.polygons, self.polygon]
        if not self.polygons or any(len(r) < 3 or any(len(p) != 2 for p in r) for r in self.polygons):
            raise ValueError("each detection needs polygons of at least 3 [x, y] points")
        return self


class ImportedFrame(BaseModel):
    frame: str
    detections: list[ImportedDetection]


class MaskImport(BaseModel):
    vehicle_uuid: str
    side: str
    job_id: str | None = None  # default: the side's newest processed video
    frames: list[ImportedFrame] = Field(min_length=1)


@router.post("/360/mask-frames", status_code=201)
async def import_mask_frames(body: MaskImport, request: Request,
                             who: Principal = caller("POST /360/mask-frames", VEHICLES_WRITE)) -> dict:
    side, vehicle_uuid = parse_side(body.side), parse_vehicle_uuid(body.vehicle_uuid)
    service = vehicles(request)
    if body.job_id:
        video = await service.by_job(who.owner_id, body.job_id, side)
        ready_frames(video)
    else:
        video = await service.latest_ready(who.owner_id, vehicle_uuid, side)
    frames = [FrameMasks(f.frame, [Detection(d.label, d.score, d.polygons) for d in f.detections])
              for f in body.frames]
    services = request.app.state.services
    count = await import_masks(services.db, services.store, video, f"{video_prefix(vehicle_uuid, side, video.id)}/masks",
                               frames, services.settings.vehicle_frame_quality)
    return {"vehicle_uuid": vehicle_uuid, "side": side, "job_id": video.job_id, "imported": count}


# -- cleanup -----------------------------------------------------------------------------------


def _flag(value: Any, default: bool = True) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("false", "0", "no", "off")


@router.delete("/360/cleanup", operation_id="cleanup_360_delete")
@router.post("/360/cleanup", operation_id="cleanup_360_post")
@reads_small_body
async def cleanup(request: Request, who: Principal = caller("/360/cleanup", VEHICLES_WRITE)) -> dict:
    """Parameters in the query string or a JSON body: vehicle_uuid, side, remove_frames (default true)."""
    params: dict[str, Any] = dict(request.query_params)
    if "json" in request.headers.get("content-type", ""):
        try:
            body = await request.json()
        except ValueError:  # not JSON (or not UTF-8) despite the content type
            raise VehicleError("the body is not valid JSON") from None
        if isinstance(body, dict):
            params.update(body)
    side, vehicle_uuid = parse_side(params.get("side")), parse_vehicle_uuid(params.get("vehicle_uuid"))
    remove = _flag(params.get("remove_frames", params.get("removeFrames")))
    done = await vehicles(request).cleanup(who.owner_id, vehicle_uuid, side, remove)
    return {"vehicle_uuid": vehicle_uuid, "side": side, "remove_frames": remove, "deleted_videos": done.videos,
            "deleted_frames": done.frames}


# -- vehicles ----------------------------------------------------------------------------------


class NewVehicle(BaseModel):
    uuid: str | None = None
    name: str | None = None


def _video(v, masks: int = 0) -> dict:
    return {"job_id": v.job_id, "side": v.side, "state": v.state, "frames_total": v.frame_count, "mask_frames": masks,
            "original_filename": v.original_filename, "size": v.size, "video_stored": v.blob_key is not None,
            "error": v.error_code, "decode_skipped": v.decode_skipped or [], "created_at": v.created_at.isoformat()}


@router.post("/360/vehicles", status_code=201)
async def create_vehicle(body: NewVehicle, request: Request,
                         who: Principal = caller("POST /360/vehicles", VEHICLES_WRITE)) -> dict:
    vehicle_uuid = parse_vehicle_uuid(body.uuid) if body.uuid else str(uuidlib.uuid4())
    v = await vehicles(request).create(who.owner_id, vehicle_uuid, body.name)
    return {"uuid": v.uuid, "name": v.name, "created_at": v.created_at.isoformat()}


@router.get("/360/vehicles")
async def list_vehicles(request: Request, who: Principal = caller("GET /360/vehicles", VEHICLES_READ)) -> dict:
    found = await vehicles(request).list(who.owner_id)
    return {"vehicles": [{"uuid": v.uuid, "name": v.name, "created_at": v.created_at.isoformat()} for v in found]}


@router.get("/360/vehicles/{vehicle_uuid}")
async def get_vehicle(vehicle_uuid: str, request: Request,
                      who: Principal = caller("GET /360/vehicles/{uuid}", VEHICLES_READ)) -> dict:
    v, videos = await vehicles(request).get(who.owner_id, parse_vehicle_uuid(vehicle_uuid))
    masks = await vehicles(request).mask_counts([x.id for x in videos])
    return {"uuid": v.uuid, "name": v.name, "created_at": v.created_at.isoformat(),
            "sides": {side: [_video(x, masks.get(x.id, 0)) for x in videos if x.side == side] for side in SIDES}}

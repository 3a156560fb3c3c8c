"""The Captures API (`specs/captures-api.md`): create, part URLs, complete, list, rename, delete, share.

Sharing: a capture is public when created; `share_url` / `share_link` open it without a key. The
document has no way to change `is_public`: omnidrop adds `PUT /api/v1/captures/{eid}/sharing`
(`{"is_public": bool}`). A private capture's `/share/{sid}/metadata` is 404 unless the owner's key comes
with it.

FastAPI's own error shapes: invalid input (including a part list S3 would refuse) is 422
`{"detail": [{"loc", "msg", "type"}]}`; anything else is `{"detail": "<message>"}` with its status.
A key goes in `Authorization: Bearer <key>` or, as the hosted API's clients send it,
`Authorization: luma-api-key=<key>`; it needs the `captures` scope.
Processing's outputs (preview, GIF, frames and their thumbnails, the splat's turntable video) are stored
as blob keys and turned into signed URLs when a response is made; `/share/{sid}/metadata` adds `state`,
`reconstruction` (camera poses, COLMAP export downloads), `splat` (training state), `frame_count` and
`frames` to the document's CaptureMetadata, and omnidrop adds `GET /share/{sid}/video.mp4` (the turntable
behind the share link, opened as the metadata is: `share_video_url`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from omnidrop.auth.errors import AuthError, MissingCredentials
from omnidrop.auth.keys import Principal
from omnidrop.auth.scopes import CAPTURES
from omnidrop.captures.service import CaptureNotFound, CaptureNotUploadable, CaptureService, NewCapture
from omnidrop.db.models import Capture
from omnidrop.protocols.downloads import blob_response
from omnidrop.protocols.presigned_parts import part_url
from omnidrop.protocols.signed_urls import blob_url
from omnidrop.surfaces.common import Int64, Refusal, authenticate, error_route, validation_errors
from omnidrop.uploads.errors import UploadError
from omnidrop.uploads.parts import NoSuchUpload

PROFILES = ("ply", "sogs-sh0")


def render_error(exc: Exception) -> Response:
    if isinstance(exc, RequestValidationError):
        return JSONResponse({"detail": validation_errors(exc)}, status_code=422)
    if isinstance(exc, Refusal):
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)
    if isinstance(exc, AuthError):
        return JSONResponse({"detail": str(exc) if str(exc) != exc.code else exc.code}, status_code=exc.status)
    if isinstance(exc, (CaptureNotFound, NoSuchUpload)):
        return JSONResponse({"detail": "Capture not found"}, status_code=404)
    if isinstance(exc, CaptureNotUploadable):
        return JSONResponse({"detail": str(exc)}, status_code=409)
    assert isinstance(exc, UploadError)
    # A part list or size the upload cannot take: invalid input, in the validation error shape.
    loc: list[Any] = ["body", "parts"]
    if "part_number" in exc.details:
        loc.append(exc.details["part_number"])
    return JSONResponse({"detail": [{"loc": loc, "msg": str(exc), "type": exc.code}]}, status_code=422)


router = APIRouter(route_class=error_route(render_error), tags=["captures"])


async def captures_key(request: Request) -> Principal:
    header = (request.headers.get("authorization") or "").strip()
    scheme, _, rest = header.partition(" ")
    if scheme.lower() == "bearer":
        token = rest.strip()
    elif header.lower().startswith("luma-api-key="):
        token = header.split("=", 1)[1].strip()
    else:
        raise MissingCredentials("Not authenticated")
    who = await authenticate(request, token)
    who.require(CAPTURES)
    return who


Who = Annotated[Principal, Depends(captures_key)]


def service(request: Request) -> CaptureService:
    return request.app.state.services.captures


# -- shapes -----------------------------------------------------------------------------------


class InputDataFormatEnum(str, Enum):
    commonformat_ios = "commonformat-ios"
    bulk_images = "bulk-images"
    video = "video"


class FocusArea(BaseModel):
    buffer_meters: float | None = Field(None, ge=0)
    crop_method: str | None = None
    max_lat: float | None = Field(None, ge=-90, le=90)
    max_lng: float | None = Field(None, ge=-180, le=180)
    min_lat: float | None = Field(None, ge=-90, le=90)
    min_lng: float | None = Field(None, ge=-180, le=180)
    polylines: list[str] = Field(default_factory=list)


class TrainingParameters(BaseModel):
    focus_area: FocusArea | None = None


class NewCaptureInput(BaseModel):
    name: str = Field(min_length=1, max_length=500)
    bytesize: Int64 = Field(gt=0)
    created: str | None = Field(None, deprecated=True)
    num_frames: Int64 | None = Field(None, ge=0)
    input_data_format: InputDataFormatEnum = InputDataFormatEnum.commonformat_ios
    guided_mode: bool | None = None
    ios_app_version: str | None = Field(None, max_length=64)
    training_parameters: TrainingParameters | None = Field(None, description="Customise behaviour of model training")


class NewCaptureOutput(BaseModel):
    eid: str = Field(description="External ID")
    chunk_size: int
    num_parts: int


class EditCaptureInput(BaseModel):
    name: str = Field(min_length=1, max_length=500)


class CaptureSharingInput(BaseModel):
    """Added by omnidrop (the document has no way to set it): share the capture or make it private."""

    is_public: bool = Field(description="true: the share link opens without a key; false: only the owner's key")


class RecreateCaptureUploadUrls(BaseModel):
    eid: str
    bytesize: Int64 = Field(gt=0)


class UploadUrlOutput(BaseModel):
    eid: str
    upload_url: str
    chunk_size: int


class UploadedPart(BaseModel):
    number: Int64
    etag: str


class CaptureUploadedInput(BaseModel):
    eid: str
    parts: list[UploadedPart] = Field(description="ETag of each part uploaded")


class CaptureOutput(BaseModel):
    eid: str
    sid: str | None
    name: str
    created: datetime
    uploaded: datetime | None
    state: str
    error_reason: str | None
    state_description: str | None
    error_reason_slug: str | None
    preview_urls: dict[str, str]
    preview_url: str | None
    viewer_url: str | None
    share_url: str | None
    share_link: str | None
    gif_url: str | None
    video_url: str | None
    share_video_url: str | None
    is_public: bool


def _when(value: datetime | None, time_zone: bool) -> datetime | None:
    """time_zone=true: aware UTC (`+00:00`); false (the default): naive UTC, as the hosted API answers."""
    if value is None:
        return None
    return value.astimezone(UTC) if time_zone else value.astimezone(UTC).replace(tzinfo=None)


def signer_for(request: Request):
    """key -> a signed download URL (S3 presigned GET, or omnidrop's own HMAC-signed URL)."""
    services = request.app.state.services

    def sign(key: str | None) -> str | None:
        if key is None:
            return None
        return blob_url(services.store, services.signer, str(request.base_url), key,
                        services.settings.signed_url_expires_seconds)

    return sign


SHARE_QUERY = "lod=false&profiles=ply&profiles=sogs-sh0&quality=high"
VIDEO_NAME = "video.mp4"


def output(c: Capture, time_zone: bool = False, sign=lambda key: None, base_url: str | None = None) -> CaptureOutput:
    """`sign(key)` turns the stored keys of processing's outputs into URLs (signed at answer time,
    so they are always fresh). `viewer_url`: the web app's page of the shared capture (its point cloud
    and cameras), once it has camera poses. `share_url` (that page) and `share_link` (its share metadata,
    both models' profiles) are what opens without a key: set for a public capture with a share id,
    null for a private one. `video_url`: the turntable MP4 the GPU worker rendered from the splat (a
    signed URL, like the GIF's); `share_video_url`: the same video at the share link's
    `/share/{sid}/video.mp4`, which opens without a key while the capture is public. Both null while
    there is no turntable."""
    outputs = c.outputs or {}
    posed = (outputs.get("reconstruction") or {}).get("state") == "done"
    viewer = f"{base_url}app/#/capture/{c.sid}" if base_url and posed and c.sid else outputs.get("viewer_url")
    shared = bool(base_url and c.sid and c.is_public)
    share_url = f"{base_url}app/#/capture/{c.sid}" if shared else None
    share_link = f"{base_url}share/{c.sid}/metadata?{SHARE_QUERY}" if shared else None
    video_key = outputs.get("video_key")
    share_video = f"{base_url}share/{c.sid}/{VIDEO_NAME}" if shared and video_key else None
    preview, gif = sign(outputs.get("preview_key")), sign(outputs.get("gif_key"))
    previews = {name: url for name, url in (("preview", preview), ("gif", gif)) if url}
    return CaptureOutput(
        eid=c.eid, sid=c.sid, name=c.name, created=_when(c.created_at, time_zone),
        uploaded=_when(c.uploaded_at, time_zone), state=c.state, error_reason=c.error_reason,
        state_description=c.state_description, error_reason_slug=c.error_reason_slug,
        preview_urls={**outputs.get("preview_urls", {}), **previews}, preview_url=preview or outputs.get("preview_url"),
        viewer_url=viewer, share_url=share_url, share_link=share_link, gif_url=gif or outputs.get("gif_url"),
        video_url=sign(video_key), share_video_url=share_video, is_public=c.is_public,
    )


def _body_eid_matches(path_eid: str, body_eid: str) -> None:
    if path_eid != body_eid:
        raise RequestValidationError(
            [{"loc": ("body", "eid"), "msg": "eid must match the capture in the path", "type": "value_error"}]
        )


# -- routes -----------------------------------------------------------------------------------


@router.get("/api/v1/captures", response_model=list[CaptureOutput], summary="List captures",
            description="Get all user captures")
async def list_captures(
    request: Request, who: Who, limit: Annotated[int, Query(ge=1, le=1000)] = 25,
    offset: Annotated[Int64, Query(ge=0)] = 0, time_zone: bool = False,
) -> list[CaptureOutput]:
    sign = signer_for(request)
    base = str(request.base_url)
    return [output(c, time_zone, sign, base) for c in await service(request).list(who.owner_id, limit, offset)]


@router.post("/api/v1/captures", response_model=NewCaptureOutput, summary="New capture")
async def new_capture(body: NewCaptureInput, request: Request, who: Who) -> NewCaptureOutput:
    params = body.training_parameters.model_dump() if body.training_parameters else None
    capture = await service(request).create(who.owner_id, NewCapture(
        name=body.name, bytesize=body.bytesize, input_data_format=body.input_data_format.value,
        num_frames=body.num_frames, guided_mode=body.guided_mode, ios_app_version=body.ios_app_version,
        training_parameters=params,
    ))
    return NewCaptureOutput(eid=capture.eid, chunk_size=capture.chunk_size, num_parts=capture.num_parts)


@router.put("/api/v1/captures/{eid}", response_model=CaptureOutput, summary="Modify capture")
async def modify_capture(eid: str, body: EditCaptureInput, request: Request, who: Who,
                         time_zone: bool = False) -> CaptureOutput:
    return output(await service(request).rename(who.owner_id, eid, body.name), time_zone, signer_for(request),
                  str(request.base_url))


@router.put("/api/v1/captures/{eid}/sharing", response_model=CaptureOutput, summary="Share or unshare capture")
async def share_capture(eid: str, body: CaptureSharingInput, request: Request, who: Who,
                        time_zone: bool = False) -> CaptureOutput:
    """Added by omnidrop: `is_public` true opens the share link without a key, false closes it to
    everyone but the owner."""
    return output(await service(request).set_public(who.owner_id, eid, body.is_public), time_zone,
                  signer_for(request), str(request.base_url))


@router.delete("/api/v1/captures/{eid}", status_code=204, summary="Delete capture")
async def delete_capture(eid: str, request: Request, who: Who) -> Response:
    await service(request).delete(who.owner_id, eid)
    return Response(status_code=204)


@router.post("/api/v1/captures/{eid}/create-upload-url/{part_no}", response_model=UploadUrlOutput,
             summary="Create upload URL")
async def create_upload_url(eid: str, part_no: Int64, body: RecreateCaptureUploadUrls, request: Request,
                            who: Who) -> UploadUrlOutput:
    _body_eid_matches(eid, body.eid)
    services = request.app.state.services
    ttl = services.settings.part_url_expires_seconds

    def url_for(upload, number: int) -> str:
        return part_url(services.parts, services.signer, upload, number, str(request.base_url), ttl)

    capture, url = await service(request).upload_url(who.owner_id, eid, part_no, body.bytesize, url_for)
    return UploadUrlOutput(eid=capture.eid, upload_url=url, chunk_size=capture.chunk_size)


@router.post("/api/v1/captures/{eid}/uploaded", response_model=CaptureOutput, summary="Complete upload")
async def complete_upload(eid: str, body: CaptureUploadedInput, request: Request, who: Who) -> CaptureOutput:
    _body_eid_matches(eid, body.eid)
    parts = [(p.number, p.etag) for p in body.parts]
    return output(await service(request).uploaded(who.owner_id, eid, parts), sign=signer_for(request),
                  base_url=str(request.base_url))


def _viewer(request: Request):
    """Who is looking at a shared capture: asked only for a private one, whose owner's key opens it."""
    async def viewer() -> str | None:
        if not request.headers.get("authorization"):
            return None
        return (await captures_key(request)).owner_id

    return viewer


def reconstruction(recon: dict | None, sign) -> dict | None:
    """Camera poses as metadata shows them: counts, error, each registered frame's name and intrinsics
    (in the order of `cameras`), signed downloads of the COLMAP text export and `sparse.ply`, and the model's
    place on the Earth (`geo`) or why it has none (`geo_reason`)."""
    if not recon:
        return None
    if recon["state"] != "done":
        return {k: recon.get(k) for k in ("state", "slug", "message", "registered", "total")}
    keys = recon["keys"]
    return {
        "state": "done", "registered": recon["registered"], "total": recon["total"],
        "mean_reprojection_error": recon["mean_reprojection_error"], "points": recon["points"],
        "matcher": recon["matcher"], "aabb": recon["aabb"],
        "convention": "cameras[i].matrix: world-from-camera, row-major 4x4; camera axes x right, y down, "
                      "z forward (OpenCV/COLMAP); world = the COLMAP model's frame",
        "frames": [{"name": f["name"], **f["camera"]} for f in recon["frames"]],
        "downloads": {"cameras.txt": sign(keys["cameras.txt"]), "images.txt": sign(keys["images.txt"]),
                      "points3D.txt": sign(keys["points3D.txt"]), "colmap_text_zip": sign(keys["zip"]),
                      "sparse_ply": sign(keys["ply"])},
        **{k: recon[k] for k in ("geo", "geo_reason") if k in recon},
    }


def splat(job, recorded: dict | None, sign) -> dict:
    """The splat's training as its job tells it: none (no poses), waiting (queued for a GPU worker),
    training (with the job's progress), done (with its held-out PSNR), or failed (with the reason)."""
    if job is None:
        return {"state": "none", "progress": 0.0}
    state = {"queued": "waiting", "running": "training", "done": "done", "failed": "failed"}.get(job.state, job.state)
    answer = {"state": state, "progress": round(float(job.progress or 0.0), 4)}
    if recorded:
        answer.update({k: recorded[k] for k in ("psnr", "steps", "gaussians", "seconds", "held_out", "focus", "notes")
                       if k in recorded})
        if recorded.get("spz_key"):
            answer["spz"] = {"url": sign(recorded["spz_key"]), "size": recorded.get("spz_size")}
    if job.state == "failed":
        answer["message"] = job.error
    return answer


@router.get("/share/{sid}/metadata", summary="Get metadata")
async def share_metadata(
    sid: str,
    request: Request,
    lod: Annotated[bool, Query(description="Level of detail hierarchy")],
    profiles: Annotated[list[str], Query(description="Content-type profile")],
    quality: str,
    use_cdn: bool = True,
) -> dict:
    unknown = [p for p in profiles if p not in PROFILES]
    if unknown:
        raise RequestValidationError([{
            "loc": ("query", "profiles"), "msg": f"unknown profile(s) {', '.join(unknown)}; use {' or '.join(PROFILES)}",
            "type": "enum",
        }])
    capture = await service(request).shared(sid, _viewer(request))
    outputs = capture.outputs or {}
    frames, sign = outputs.get("frames", []), signer_for(request)
    models = [{**m, "url": sign(m["key"]) if "key" in m else m["url"]} for m in outputs.get("models", [])
              if m.get("profile") in profiles and m.get("quality", quality) == quality
              and bool(m.get("lod", False)) == lod]
    training = await service(request).training(capture.eid)
    return {
        "eid": capture.eid, "sid": capture.sid, "name": capture.name, "segmented_capture_eid": None,
        "profile_name": profiles[0], "lod": lod, "hdr_mode": outputs.get("hdr_mode"),
        "nominal_ev": outputs.get("nominal_ev", 0), "tmo_parameters": outputs.get("tmo_parameters"),
        "model_urls": [m["url"] for m in models],
        "cameras": [{"matrix": c} for c in outputs.get("cameras", [])],
        "models": [{"url": m["url"], "size": m["size"], "id": m.get("id"), "aabb": m.get("aabb"),
                    "resolution_range": m.get("resolution_range"), "parent": m.get("parent")} for m in models],
        "video_trajectory": outputs.get("video_trajectory"), "reposition_data": outputs.get("reposition_data"),
        # Added by omnidrop: the capture's state, its camera poses and splat training, and its frames.
        "state": capture.state, "reconstruction": reconstruction(outputs.get("reconstruction"), sign),
        "splat": splat(training, outputs.get("splat"), sign),
        "frame_count": len(frames), "frames": [{
            "index": i, "name": f["name"], "url": sign(f["key"]), "thumbnail_url": sign(f.get("thumbnail_key")),
            "width": f["width"], "height": f["height"], **({"source": f["source"]} if "source" in f else {}),
            **({"gps": f["gps"]} if "gps" in f else {}),
        } for i, f in enumerate(frames, 1)],
    }


@router.get("/share/{sid}/" + VIDEO_NAME, summary="Turntable video", response_class=Response)
async def share_video(sid: str, request: Request) -> Response:
    """Added by omnidrop (`share_video_url`): the splat's turntable MP4, checked against the share link on
    every request like the metadata: without a key while the capture is public, with its owner's key
    while it is private, 404 otherwise or while it has no turntable. Range requests are answered (206)."""
    capture = await service(request).shared(sid, _viewer(request))
    key = (capture.outputs or {}).get("video_key")
    if key is None:
        raise CaptureNotFound("Capture not found")
    return await blob_response(request.app.state.services.store, key, request.headers.get("range"),
                               media_type="video/mp4")

"""The 360 Walkthrough Upload API (`specs/walkthrough-upload-api.md`) and its minimal resources.

Steps 1, 2 and 5 live here (`/auth/login`, `POST` and `PUT /360/{id}/upload`); steps 3 and 4 are the
tus endpoints (`surfaces/resumable.py`). Projects and drawings, which the spec takes from the
dashboard, are created and listed under `/360/projects`. `GET /360/{id}/points` serves what the
walkthrough job made: panoramas with their time, position and spot on the drawing.
Errors are `{"error": code, "message": text}`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from omnidrop.auth.bearer import KEY_OR_LOGIN, bearer_token
from omnidrop.auth.errors import AuthError
from omnidrop.auth.keys import Principal
from omnidrop.auth.rate_limits import RateLimited
from omnidrop.auth.scopes import PROJECTS_READ, PROJECTS_WRITE
from omnidrop.db.models import Drawing, WalkthroughPoint, WalkthroughProject, WalkthroughVideo
from omnidrop.db.models.walkthrough import project_slug
from omnidrop.protocols.body import request_body
from omnidrop.protocols.downloads import blob_response
from omnidrop.protocols.signed_urls import blob_url
from omnidrop.surfaces.common import Int64, Refusal, error_route, reads_small_body, validation_message
from omnidrop.walkthrough.errors import DrawingNotFound, InvalidInput, UploadObjectNotFound, WalkthroughError
from omnidrop.walkthrough.positions import format_position, parse_date, parse_position
from omnidrop.walkthrough.service import Bounds, UploadObject, VideoLink, WalkthroughService


def render_error(exc: Exception) -> Response:
    if isinstance(exc, WalkthroughError):
        return JSONResponse({"error": exc.code, "message": exc.message}, status_code=exc.status)
    if isinstance(exc, Refusal):
        return JSONResponse({"error": exc.code, "message": str(exc)}, status_code=exc.status)
    if isinstance(exc, AuthError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse({"error": exc.code, "message": str(exc) if str(exc) else exc.code},
                            status_code=exc.status, headers=headers)
    if isinstance(exc, RequestValidationError):
        problems = validation_message(exc)
        return JSONResponse({"error": "invalid_request", "message": problems}, status_code=400)
    return JSONResponse({"error": getattr(exc, "code", "error"), "message": str(exc)}, status_code=400)


router = APIRouter(route_class=error_route(render_error, WalkthroughError), tags=["360 walkthrough"])


def service(request: Request) -> WalkthroughService:
    return request.app.state.services.walkthroughs


async def principal(request: Request) -> Principal:
    token = bearer_token(request.headers.get("authorization"), KEY_OR_LOGIN)
    return await request.app.state.services.logins.authenticate(token)


async def reader(who: Principal = Depends(principal)) -> Principal:
    who.require(PROJECTS_READ)
    return who


async def writer(who: Principal = Depends(principal)) -> Principal:
    who.require(PROJECTS_WRITE)
    return who


# -- step 1 -------------------------------------------------------------------------------------


class Login(BaseModel):
    username: str = Field(max_length=320)
    password: str = Field(max_length=1024)


@router.post("/auth/login")
async def login(body: Login, request: Request) -> dict:
    """Throttled per username and per client address: past either limit, 429 with Retry-After."""
    address = request.client.host if request.client else None
    issued = await request.app.state.services.logins.login(body.username, body.password, address)
    return {"token": issued.token, "expires_at": _timestamp(issued.expires_at)}


# -- projects and drawings ----------------------------------------------------------------------


class NewProject(BaseModel):
    id: str
    name: str = ""


class BoundsIn(BaseModel):
    north: float
    south: float
    east: float
    west: float


class NewDrawing(BaseModel):
    name: str = Field(min_length=1, max_length=300)
    bounds: BoundsIn


def _project(p: WalkthroughProject) -> dict:
    return {"id": p.slug, "name": p.name, "inserted_at": _timestamp(p.created_at)}


def _drawing(d: Drawing) -> dict:
    return {
        "id": d.id, "project_id": project_slug(d.project_id), "name": d.name,
        "bounds": {"north": d.north, "south": d.south, "east": d.east, "west": d.west},
        "image_url": f"/360/drawings/{d.id}/image" if d.image_key else None, "image_type": d.image_type,
        "inserted_at": _timestamp(d.created_at),
    }


@router.post("/360/projects", status_code=201)
async def create_project(body: NewProject, request: Request, who: Principal = Depends(writer)) -> dict:
    return _project(await service(request).create_project(who.owner_id, body.id, body.name))


@router.get("/360/projects")
async def list_projects(request: Request, who: Principal = Depends(reader)) -> dict:
    return {"projects": [_project(p) for p in await service(request).list_projects(who.owner_id)]}


@router.post("/360/projects/{project_id}/drawings", status_code=201)
async def create_drawing(project_id: str, body: NewDrawing, request: Request, who: Principal = Depends(writer)) -> dict:
    bounds = Bounds(body.bounds.north, body.bounds.south, body.bounds.east, body.bounds.west)
    return _drawing(await service(request).create_drawing(who.owner_id, project_id, body.name, bounds))


@router.get("/360/projects/{project_id}/drawings")
async def list_drawings(project_id: str, request: Request, who: Principal = Depends(reader)) -> dict:
    return {"drawings": [_drawing(d) for d in await service(request).list_drawings(who.owner_id, project_id)]}


@router.put("/360/drawings/{drawing_id}/image")
async def put_drawing_image(drawing_id: str, request: Request, who: Principal = Depends(writer)) -> dict:
    drawing = await service(request).set_drawing_image(
        who.owner_id, _int_id(drawing_id, DrawingNotFound, "drawing"), request.headers.get("content-type", ""),
        request_body(request))
    return _drawing(drawing)


@router.get("/360/drawings/{drawing_id}/image")
async def get_drawing_image(drawing_id: str, request: Request, who: Principal = Depends(reader)) -> Response:
    drawing = await service(request).drawing(who.owner_id, _int_id(drawing_id, DrawingNotFound, "drawing"))
    if not drawing.image_key:
        raise DrawingNotFound(f"drawing {drawing.id} has no image yet")
    return await blob_response(request.app.state.services.store, drawing.image_key, request.headers.get("range"),
                               media_type=drawing.image_type)


# -- steps 2 and 5 ------------------------------------------------------------------------------


@router.get("/360/projects/{project_id}/uploads")
async def list_uploads(project_id: str, request: Request, who: Principal = Depends(reader)) -> dict:
    """The project's upload objects, newest first (not in the document; the web app lists them)."""
    return {"uploads": [upload_object(o, request) for o in await service(request).list_uploads(who.owner_id, project_id)]}


@router.post("/360/{project_id}/upload", status_code=201)
@reads_small_body
async def create_upload(
    project_id: str, request: Request, who: Principal = Depends(writer),
    date: Annotated[str | None, Query()] = None, name: Annotated[str | None, Query()] = None,
    drawing_id: Annotated[str | None, Query()] = None, uploaded_by: Annotated[str | None, Query()] = None,
) -> dict:
    # The spec sends the fields in the query string with a form content type; accept the form too.
    form = await request.form() if "form" in request.headers.get("content-type", "") else {}
    fields = {k: v if v is not None else form.get(k) for k, v in
              {"date": date, "name": name, "drawing_id": drawing_id, "uploaded_by": uploaded_by}.items()}
    missing = sorted(k for k, v in fields.items() if not v)
    if missing:
        raise InvalidInput(f"missing {', '.join(missing)}")
    obj = await service(request).create_upload(
        who.owner_id, project_id, name=str(fields["name"]), day=parse_date(str(fields["date"])),
        drawing_id=_int_id(str(fields["drawing_id"]), DrawingNotFound, "drawing"),
        uploaded_by=str(fields["uploaded_by"]))
    return upload_object(obj, request)


@router.get("/360/{upload_id}/upload")
async def get_upload(upload_id: str, request: Request, who: Principal = Depends(reader)) -> dict:
    obj = await service(request).get_upload(who.owner_id, _int_id(upload_id, UploadObjectNotFound, "upload"))
    return {**upload_object(obj, request), "processing_progress": await service(request).progress(obj.row)}


class FileLink(BaseModel):
    url: str
    title: str = ""
    file_extension: str = ""


class LinkVideos(BaseModel):
    asset_type: str
    upload: list[FileLink]
    start_position: str
    end_position: str
    target_points_count: Int64 = 0


@router.put("/360/{upload_id}/upload")
async def link_videos(upload_id: str, body: LinkVideos, request: Request, who: Principal = Depends(writer),
                      uploaded_by: Annotated[str | None, Query()] = None) -> dict:
    tus_base = "/" + request.app.state.services.settings.tus_path.strip("/")
    links = [VideoLink(resumable_id=_tus_id(f.url, tus_base), url=f.url, title=f.title,
                       file_extension=f.file_extension.lstrip(".").lower()) for f in body.upload]
    obj = await service(request).link_videos(
        who.owner_id, _int_id(upload_id, UploadObjectNotFound, "upload"), uploaded_by=uploaded_by or "",
        asset_type=body.asset_type, links=links,
        start=parse_position("start_position", body.start_position),
        end=parse_position("end_position", body.end_position), target_points_count=body.target_points_count)
    return upload_object(obj, request)


def upload_object(obj: UploadObject, request: Request) -> dict:
    """The spec's upload object. `tus_links`: URLs of the tus uploads announced for it (metadata
    `walkthrough_upload_id`) and of the videos linked in step 5, in that order, each once."""
    row = obj.row
    files = str(request.base_url).rstrip("/") + "/" + request.app.state.services.settings.tus_path.strip("/") + "/"
    tus_links = list(dict.fromkeys([files + link.resumable_id for link in obj.tus_links] + [v.url for v in obj.videos]))
    return {
        "id": row.id, "name": row.name, "project_id": project_slug(row.project_id), "floor_id": row.floor_id,
        "date": row.date.isoformat(), "processing_status": row.processing_status, "uploaded_by": row.uploaded_by,
        "inserted_at": _timestamp(row.inserted_at), "updated_at": _timestamp(row.updated_at),
        "is_timelapse": row.is_timelapse, "images": [], "videos": [_video(v) for v in obj.videos],
        "tus_links": tus_links, "asset_type": row.asset_type,
        "start_position": format_position(row.start_lat, row.start_lng),
        "end_position": format_position(row.end_lat, row.end_lng),
        "target_points_count": row.target_points_count,
        "processing_error": row.processing_error,
        "points_url": str(request.url_for("get_points", upload_id=str(row.id))),
    }


# -- the processed walk ---------------------------------------------------------------------------


@router.get("/360/{upload_id}/points")
async def get_points(upload_id: str, request: Request, who: Principal = Depends(reader)) -> dict:
    """The panoramas along the walk, once processing_status is "done" (an empty list before)."""
    obj, points = await service(request).points(who.owner_id, _int_id(upload_id, UploadObjectNotFound, "upload"))
    row = obj.row
    return {"upload_id": str(row.id), "processing_status": row.processing_status,
            "processing_error": row.processing_error,
            "drawing_id": str(row.floor_id) if row.floor_id is not None else None,
            "points": [_point(p, request) for p in points]}


def _point(p: WalkthroughPoint, request: Request) -> dict:
    services = request.app.state.services
    url = blob_url(services.store, services.signer, str(request.base_url), p.blob_key,
                   services.settings.signed_url_expires_seconds)
    return {"index": p.index, "time_seconds": p.time_seconds, "lat": p.lat, "lng": p.lng, "x": p.x, "y": p.y,
            "source": p.source, "panorama_url": url, "width": p.width, "height": p.height}


def _video(v: WalkthroughVideo) -> dict:
    return {"id": v.id, "url": v.url, "title": v.title, "file_extension": v.file_extension, "size": v.size,
            "inserted_at": _timestamp(v.created_at)}


def _timestamp(moment: datetime) -> str:
    # The spec's examples are naive UTC with microseconds: 2026-01-20T12:31:30.022170
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def _int_id(raw: str, missing: type[WalkthroughError], what: str) -> int:
    # isdigit() alone lets through digits int() cannot read (superscripts such as "²")
    if not (raw.strip().isascii() and raw.strip().isdigit()) or len(raw.strip()) > 18:
        raise missing(f"no {what} {raw!r}")
    return int(raw)


def _tus_id(url: str, tus_base: str) -> str:
    """The upload id from a tus URL such as http://host/files/<id>, whatever the host."""
    path = urlsplit(url.strip()).path.rstrip("/")
    parent, _, upload_id = path.rpartition("/")
    if parent != tus_base or not upload_id:
        raise InvalidInput(f"{url!r} is not a tus upload URL ({tus_base}/<id>)")
    return upload_id

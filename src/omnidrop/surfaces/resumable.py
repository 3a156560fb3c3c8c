"""The resumable-upload endpoints (`/files/` by default): tus 1.0.0 and the IETF draft (CORS: surfaces/cors.py).

The walkthrough spec's steps 3 and 4 run here. Requests carry `Authorization: Bearer` with an API
key or a login token; an upload belongs to its creator's owner, and anyone else gets 404.
"""

from __future__ import annotations

import json
from functools import partial

from fastapi import APIRouter
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import Response

from omnidrop.auth.bearer import KEY_OR_LOGIN, bearer_token
from omnidrop.auth.errors import AuthError
from omnidrop.auth.scopes import PROJECTS_WRITE
from omnidrop.protocols.ietf_resumable import IetfResumableProtocol, interop_version
from omnidrop.protocols.tus import TUS_VERSION, TusProtocol
from omnidrop.serving.informational import send_informational
from omnidrop.settings import Settings
from omnidrop.surfaces.common import StorageFull
from omnidrop.uploads.storage_full import is_storage_full

METHODS = ["OPTIONS", "HEAD", "GET", "POST", "PATCH", "DELETE"]


def router(settings: Settings) -> APIRouter:
    base = "/" + settings.tus_path.strip("/")
    api = APIRouter(tags=["resumable uploads"])

    async def collection(request: Request) -> Response:
        return await _dispatch(request, None, base)

    async def upload(request: Request) -> Response:
        return await _dispatch(request, request.path_params["upload_id"], base)

    # Both `/files` and `/files/`: clients are configured with either.
    for path in (base, base + "/"):
        api.add_api_route(path, collection, methods=METHODS, include_in_schema=False)
    api.add_api_route(base + "/{upload_id}", upload, methods=METHODS, include_in_schema=False)
    return api


async def _dispatch(request: Request, upload_id: str | None, base: str) -> Response:
    services = request.app.state.services
    settings: Settings = services.settings
    method = (request.headers.get("x-http-method-override") or request.method).upper()

    async def authenticate() -> str:
        if settings.tus_allow_anonymous and "authorization" not in request.headers:
            return await services.logins.anonymous_owner()
        token = bearer_token(request.headers.get("authorization"), KEY_OR_LOGIN)
        principal = await services.logins.authenticate(token)
        principal.require(PROJECTS_WRITE)
        return principal.owner_id

    collection_url = str(request.base_url).rstrip("/") + base + "/"
    version = interop_version(request) if settings.ietf_draft_enabled else None
    try:
        if version is not None and method != "OPTIONS":
            # The protocol sends its 104 through this when the server supports interim responses.
            interim = partial(send_informational, request)
            response = await IetfResumableProtocol(services.resumable, interim).handle(
                request, method, upload_id, collection_url, authenticate, version)
        else:
            response = await TusProtocol(services.resumable).handle(
                request, method, upload_id, collection_url, authenticate)
    except AuthError as exc:
        text = f"{exc.code}: {exc}" if str(exc) else exc.code
        response = Response(f"{text}\n", status_code=exc.status, media_type="text/plain",
                            headers={"WWW-Authenticate": "Bearer"} if exc.status == 401 else None)
        if version is None:
            response.headers["Tus-Resumable"] = TUS_VERSION
    except (OSError, DBAPIError) as exc:
        if not is_storage_full(exc):
            raise
        # What was acknowledged before stays so (HEAD gives the offset); the client resumes once space is freed.
        full = StorageFull()
        if version is None:
            response = Response(f"{full.code}: {full}\n", status_code=full.status, media_type="text/plain",
                                headers={"Tus-Resumable": TUS_VERSION})
        else:
            response = Response(json.dumps({"title": str(full), "status": full.status}), status_code=full.status,
                                media_type="application/problem+json")
    return response

"""Companion-compatible S3 multipart routes (`/s3/multipart…`), as Uppy's @uppy/aws-s3 calls them.

Same JSON as Companion's `controllers/s3`: create, sign one part, batch sign, list parts, complete,
abort. `uploadId` is omnidrop's multipart id and `key` the blob it becomes; part URLs are S3 presigned
UploadPart URLs or omnidrop's own signed part URLs (local disk).

The caller needs `projects:write`, as an API key or a login token, carried one of two ways:
- `Authorization: Bearer <credential>` on `/s3/multipart…` (Uppy 5's `headers` option);
- in the path, `/companion/<credential>/s3/multipart…`: Uppy 6's `companionEndpoint` mode sends no
  headers, so its endpoint is `<base>/companion/<credential>` (the plugin appends `/s3/multipart…`).
`POST /s3/sign` serves Uppy 6's `signRequest` mode: one S3 request in, a signed URL out
(protocols/s3_requests.py; the URLs are answered in surfaces/part_urls.py).
Errors are Companion's `{"error": "<message>"}` with status 400 (404 for an unknown upload); a
refused credential is `{"error": "<code>", "message": "…"}` (401 `missing_api_key` /
`invalid_api_key`, 403 `insufficient_scope`).
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from omnidrop.auth.errors import AuthError
from omnidrop.auth.keys import Principal
from omnidrop.auth.scopes import PROJECTS_WRITE
from omnidrop.protocols.presigned_parts import part_url
from omnidrop.protocols.s3_requests import UnsupportedRequest, action_url, request_url
from omnidrop.surfaces.common import Int64, Refusal, authenticate, bearer_principal, error_route
from omnidrop.uploads.errors import UploadError
from omnidrop.uploads.parts import NoSuchUpload, PartsCore, Upload

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def render_error(exc: Exception) -> Response:
    if isinstance(exc, AuthError):
        message = str(exc) or {"missing_api_key": "send an API key or login token as Authorization: Bearer <key>, "
                                                  "or use the /companion/<key> endpoint"}.get(exc.code, "credential refused")
        return JSONResponse({"error": exc.code, "message": message}, status_code=exc.status,
                            headers={"WWW-Authenticate": "Bearer"} if exc.status == 401 else None)
    if isinstance(exc, NoSuchUpload):
        return JSONResponse({"error": str(exc)}, status_code=404)
    if isinstance(exc, Refusal):
        return JSONResponse({"error": str(exc)}, status_code=exc.status)
    if isinstance(exc, UploadError):
        return JSONResponse({"error": str(exc)}, status_code=400)
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"error": "; ".join(str(e["msg"]) for e in exc.errors())}, status_code=400)


router = APIRouter(route_class=error_route(render_error), tags=["companion s3"])


async def writer(request: Request) -> Principal:
    credential = request.path_params.get("credential")
    who = await (authenticate(request, credential) if credential else bearer_principal(request))
    who.require(PROJECTS_WRITE)
    return who


Who = Annotated[Principal, Depends(writer)]
Key = Annotated[str, Query(min_length=1)]


def parts_core(request: Request) -> PartsCore:
    return request.app.state.services.parts


def safe_name(filename: str) -> str:
    name = _UNSAFE.sub("_", filename).strip("._") or "file"
    return name[-200:]


def bucket_name(request: Request) -> str:
    return getattr(request.app.state.services.store, "bucket", "local")


async def owned(request: Request, who: Principal, upload_id: str, key: str) -> Upload:
    upload = await parts_core(request).get(upload_id, who.owner_id)
    if upload.key != key:
        raise NoSuchUpload(f"no multipart upload {upload_id!r} for key {key!r}")
    return upload


def sign(request: Request, upload: Upload, number: int) -> str:
    services = request.app.state.services
    return part_url(services.parts, services.signer, upload, number, str(request.base_url),
                    services.settings.part_url_expires_seconds)


class CreateIn(BaseModel):
    filename: str = Field(min_length=1)
    type: str | None = None
    metadata: dict = Field(default_factory=dict)


class PartIn(BaseModel):
    PartNumber: Int64
    ETag: str


class CompleteIn(BaseModel):
    parts: list[PartIn]


class SignIn(BaseModel):
    """Uppy 6's `PresignableRequest`, as its `signRequest` callback receives it."""

    method: str
    key: str = Field(min_length=1)
    uploadId: str | None = None  # noqa: N815
    partNumber: int | None = None  # noqa: N815
    contentType: str | None = None  # noqa: N815
    expiresIn: int | None = None  # noqa: N815


async def sign_request(body: SignIn, request: Request, who: Who) -> dict:
    """One S3 request → a URL that performs it (see protocols/s3_requests.py). Creating signs a new upload."""
    services = request.app.state.services
    longest = services.settings.part_url_expires_seconds
    expires = max(1, min(body.expiresIn or longest, longest))
    base = str(request.base_url)
    method = body.method.upper()
    if body.uploadId is None:
        action = {"POST": "create", "PUT": "object"}.get(method)
        if action is None or body.partNumber is not None:
            raise UnsupportedRequest(f"no S3 request {method} without an upload id")
        key = f"companion/{secrets.token_hex(12)}/{safe_name(body.key.rsplit('/', 1)[-1])}"
        upload = await parts_core(request).create(who.owner_id, key)
        if action == "object" and services.parts.store_part_url(upload, 1, expires) is not None:
            # The bytes of an S3 store's uploads go straight to the bucket, part by part.
            await services.parts.abort(upload)
            raise UnsupportedRequest("this server's store takes browser uploads as multipart only: "
                                     "set shouldUseMultipart: true")
        return {"url": action_url(services.signer, base, upload.id, action, expires), "key": key}
    upload = await owned(request, who, body.uploadId, body.key)
    if method == "PUT":
        upload = await parts_core(request).open_upload(upload.id)
    return {"url": request_url(services.parts, services.signer, upload, method, body.partNumber, base, expires)}


async def create(body: CreateIn, request: Request, who: Who) -> dict:
    key = f"companion/{secrets.token_hex(12)}/{safe_name(body.filename)}"
    upload = await parts_core(request).create(who.owner_id, key)
    return {"key": key, "uploadId": upload.id, "bucket": bucket_name(request)}


async def list_parts(upload_id: str, key: Key, request: Request, who: Who) -> list[dict]:
    upload = await owned(request, who, upload_id, key)
    return [{"PartNumber": p.number, "ETag": p.etag, "Size": p.size} for p in await parts_core(request).list_parts(upload)]


async def batch_sign(upload_id: str, key: Key, partNumbers: Annotated[str, Query(min_length=1)],  # noqa: N803
                     request: Request, who: Who) -> dict:
    upload = await parts_core(request).open_upload((await owned(request, who, upload_id, key)).id)
    try:
        numbers = [int(n) for n in partNumbers.split(",")]
    except ValueError:
        raise RequestValidationError([{"loc": ("query", "partNumbers"), "msg": "partNumbers must be integers",
                                       "type": "int_parsing"}]) from None
    return {"presignedUrls": {str(n): sign(request, upload, n) for n in numbers}}


async def sign_part(upload_id: str, part_number: Int64, key: Key, request: Request, who: Who) -> dict:
    upload = await parts_core(request).open_upload((await owned(request, who, upload_id, key)).id)
    expires = request.app.state.services.settings.part_url_expires_seconds
    return {"url": sign(request, upload, part_number), "expires": expires}


async def complete(upload_id: str, key: Key, body: CompleteIn, request: Request, who: Who) -> dict:
    upload = await owned(request, who, upload_id, key)
    done = await parts_core(request).complete(upload, [(p.PartNumber, p.ETag) for p in body.parts])
    endpoint = getattr(request.app.state.services.store, "loc", None)
    location = f"{endpoint.endpoint}/{bucket_name(request)}/{key}" if endpoint and endpoint.endpoint else None
    return {"location": location, "key": done.key, "bucket": bucket_name(request)}


async def abort(upload_id: str, key: Key, request: Request, who: Who) -> dict:
    upload = await owned(request, who, upload_id, key)
    await parts_core(request).abort(upload)
    return {}


# Each route twice: the Bearer form and the credential-in-path form (Uppy 6's companionEndpoint).
for _prefix in ("/s3/multipart", "/companion/{credential}/s3/multipart"):
    _listed = not _prefix.startswith("/companion")  # a secret in the path is no API to advertise
    router.add_api_route(_prefix, create, methods=["POST"], include_in_schema=_listed)
    router.add_api_route(_prefix + "/{upload_id}", list_parts, methods=["GET"], include_in_schema=_listed)
    router.add_api_route(_prefix + "/{upload_id}/batch", batch_sign, methods=["GET"], include_in_schema=_listed)
    router.add_api_route(_prefix + "/{upload_id}/{part_number}", sign_part, methods=["GET"], include_in_schema=_listed)
    router.add_api_route(_prefix + "/{upload_id}/complete", complete, methods=["POST"], include_in_schema=_listed)
    router.add_api_route(_prefix + "/{upload_id}", abort, methods=["DELETE"], include_in_schema=_listed)
# Uppy 6's signRequest mode: its callback sends the key as it likes, so the header form is enough.
router.add_api_route("/s3/sign", sign_request, methods=["POST"])

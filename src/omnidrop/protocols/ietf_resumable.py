"""The IETF "Resumable Uploads for HTTP" draft (draft-ietf-httpbis-resumable-upload) on the tus endpoints.

A request is a draft request when it carries `Upload-Draft-Interop-Version` with a version in
`VERSIONS`; what differs between versions is data in that table, so a later interop version is one
more row (plus whatever new rule it brings). Served: creation (POST with `Upload-Complete`, empty or
with content), offset retrieval (HEAD), append (PATCH), cancellation (DELETE), 409 with the correct
offset, and the 104 (Upload Resumption Supported) interim response: as soon as a creation request
has made its upload resource, before reading its body, the protocol asks the surface to send a 104
with that resource's Location, so a client cut off mid-body knows where to resume. Where the server
cannot send interim responses (granian, Starlette's TestClient) nothing is sent; the draft makes
the 104 a SHOULD for servers that can, and the final 201 carries the same Location either way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from omnidrop.protocols.body import request_body
from omnidrop.protocols.resumable_common import BadRequestHeader, upload_url
from omnidrop.protocols.tus import STATUS as TUS_STATUS
from omnidrop.protocols.tus import Authenticate, UnsupportedMediaType, parse_metadata
from omnidrop.uploads.errors import OffsetMismatch, UploadError
from omnidrop.uploads.events import CreationRejected
from omnidrop.uploads.resumable import ResumableInfo, ResumableUploads

PROTOCOL = "ietf"
INTEROP_HEADER = "Upload-Draft-Interop-Version"
MISMATCHING_OFFSET = "https://iana.org/assignments/http-problem-types#mismatching-upload-offset"
INCONSISTENT_LENGTH = "https://iana.org/assignments/http-problem-types#inconsistent-upload-length"
UPLOAD_RESUMPTION_SUPPORTED = 104

# Sends an informational (1xx) response now if the server can; returns whether it did.
Interim = Callable[[int, Mapping[str, str]], Awaitable[bool]]


async def no_interim(status: int, headers: Mapping[str, str]) -> bool:
    return False


@dataclass(frozen=True)
class DraftVersion:
    interop: int
    drafts: str
    # Media type an append must carry; None: any (before interop 6).
    append_media_type: str | None
    # Upload-Limit key for the remaining lifetime ("expires" until draft -05, then "max-age").
    lifetime_key: str


VERSIONS: dict[int, DraftVersion] = {
    5: DraftVersion(5, "-03", None, "expires"),  # tus-js-client protocol "ietf-draft-03"
    6: DraftVersion(6, "-04, -05", "application/partial-upload", "expires"),  # "ietf-draft-05", iOS 18.1+
}


def interop_version(request: Request) -> DraftVersion | None:
    raw = (request.headers.get(INTEROP_HEADER) or "").strip()
    return VERSIONS.get(int(raw)) if raw.isascii() and raw.isdigit() and len(raw) <= 3 else None


class InconsistentLength(UploadError):
    code = "inconsistent_upload_length"


def _sf_integer(value: str | None, name: str) -> int | None:
    """A Structured Field Integer item (parameters ignored); None when absent."""
    if value is None:
        return None
    item = value.split(";", 1)[0].strip()
    if not re.fullmatch(r"\d{1,15}", item):
        raise BadRequestHeader(f"{name} must be a non-negative integer, got {value!r}")
    return int(item)


def _sf_boolean(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    item = value.split(";", 1)[0].strip()
    if item not in ("?0", "?1"):
        raise BadRequestHeader(f"{name} must be ?0 or ?1, got {value!r}")
    return item == "?1"


def _filename(disposition: str | None) -> str | None:
    m = re.search(r'filename\s*=\s*"([^"]*)"|filename\s*=\s*([^;\s]+)', disposition or "")
    return (m.group(1) or m.group(2)) if m else None


class IetfResumableProtocol:
    def __init__(self, uploads: ResumableUploads, interim: Interim = no_interim) -> None:
        self.uploads = uploads
        self.interim = interim

    async def handle(self, request: Request, method: str, upload_id: str | None, collection_url: str,
                     authenticate: Authenticate, version: DraftVersion) -> Response:
        try:
            owner_id = await authenticate()
            if upload_id is None:
                if method not in ("POST", "PUT", "PATCH"):
                    return Response(status_code=405, headers={"Allow": "POST, OPTIONS"})
                response = await self._create(request, owner_id, collection_url, version)
            elif method in ("HEAD", "GET"):
                response = self._state(await self.uploads.get(owner_id, upload_id, protocol=PROTOCOL), version, status=204)
                response.headers["Cache-Control"] = "no-store"
            elif method == "PATCH":
                response = await self._append(request, owner_id, upload_id, version)
            elif method == "DELETE":
                await self.uploads.terminate(owner_id, upload_id, protocol=PROTOCOL)
                response = Response(status_code=204)
            else:
                return Response(status_code=405, headers={"Allow": "HEAD, PATCH, DELETE, OPTIONS"})
        except OffsetMismatch as exc:
            response = self._mismatch(exc.details["received"], request)
        except CreationRejected as exc:
            response = _problem(exc.status, str(exc))
        except UploadError as exc:
            status = 400 if isinstance(exc, InconsistentLength) else TUS_STATUS.get(type(exc), 400)
            response = _problem(status, str(exc), INCONSISTENT_LENGTH if isinstance(exc, InconsistentLength) else None)
        response.headers[INTEROP_HEADER] = str(version.interop)
        return response

    def limits(self, version: DraftVersion, lifetime: int | None) -> str:
        """`lifetime`: seconds the upload has left by the database's clock (None: it never expires)."""
        parts = [f"max-size={self.uploads.core.limits.max_file_bytes}", "min-size=0"]
        if lifetime is not None:
            parts.append(f"{version.lifetime_key}={max(0, lifetime)}")
        return ", ".join(parts)

    def _state(self, info: ResumableInfo, version: DraftVersion, *, status: int) -> Response:
        headers = {
            "Upload-Offset": str(info.offset),
            "Upload-Complete": "?1" if info.complete else "?0",
            "Upload-Limit": self.limits(version, info.lifetime),
        }
        if info.length is not None:
            headers["Upload-Length"] = str(info.length)
        return Response(status_code=status, headers=headers)

    async def _create(self, request: Request, owner_id: str, collection_url: str, version: DraftVersion) -> Response:
        h = request.headers
        complete = _sf_boolean(h.get("upload-complete"), "Upload-Complete")
        if complete is None:
            raise BadRequestHeader("a resumable creation carries Upload-Complete")
        length = _sf_integer(h.get("upload-length"), "Upload-Length")
        content_length = _sf_integer(h.get("content-length"), "Content-Length")
        if complete:
            if content_length is None:
                raise BadRequestHeader("Upload-Complete: ?1 needs Content-Length")
            if length is not None and length != content_length:
                raise InconsistentLength(f"Upload-Length {length} != Content-Length {content_length}")
            length = content_length
        meta = parse_metadata(h.get("upload-metadata"))  # tus-js-client sends it in draft mode too
        if (name := _filename(h.get("content-disposition"))) is not None:
            meta.setdefault("filename", name)
        if content_length and h.get("content-type"):
            meta.setdefault("filetype", h["content-type"])
        info = await self.uploads.create(owner_id, length=length, meta=meta, protocol=PROTOCOL)
        location = upload_url(collection_url, info.id)
        # Only to a request with a known interop version (ours), echoing it, as the draft requires.
        await self.interim(UPLOAD_RESUMPTION_SUPPORTED, {
            "Location": location,
            INTEROP_HEADER: str(version.interop),
            "Upload-Limit": self.limits(version, info.lifetime),
        })
        if content_length or (content_length is None and "chunked" in (h.get("transfer-encoding") or "")):
            info = await self.uploads.append(owner_id, info.id, offset=0, body=request_body(request, "ietf_resumable"),
                                             length=content_length, protocol=PROTOCOL)
        response = self._state(info, version, status=201)
        response.headers["Location"] = location  # the same as the 104's, as the draft requires
        return response

    async def _append(self, request: Request, owner_id: str, upload_id: str, version: DraftVersion) -> Response:
        h = request.headers
        info = await self.uploads.get(owner_id, upload_id, protocol=PROTOCOL)
        media = (h.get("content-type") or "").split(";")[0].strip().lower()
        if version.append_media_type is not None and media != version.append_media_type:
            raise UnsupportedMediaType(f"an append needs Content-Type: {version.append_media_type}")
        offset = _sf_integer(h.get("upload-offset"), "Upload-Offset")
        complete = _sf_boolean(h.get("upload-complete"), "Upload-Complete")
        if offset is None or complete is None:
            raise BadRequestHeader("an append carries Upload-Offset and Upload-Complete")
        content_length = _sf_integer(h.get("content-length"), "Content-Length")
        declared = _sf_integer(h.get("upload-length"), "Upload-Length")
        total = None
        if complete:
            if content_length is None and declared is None and info.length is None:
                raise BadRequestHeader("Upload-Complete: ?1 needs Content-Length or a known Upload-Length")
            total = offset + content_length if content_length is not None else (declared or info.length)
            known = declared if declared is not None else info.length
            if known is not None and known != total:
                raise InconsistentLength(f"the upload is {known} bytes, this append ends at {total}")
        elif declared is not None:
            total = declared
        info = await self.uploads.append(owner_id, upload_id, offset=offset, body=request_body(request, "ietf_resumable"),
                                         length=content_length, total=total, protocol=PROTOCOL, current=info)
        return self._state(info, version, status=204)

    def _mismatch(self, expected: int, request: Request) -> Response:
        provided = request.headers.get("upload-offset")
        body = {"type": MISMATCHING_OFFSET, "title": "offset from request does not match offset of resource",
                "expected-offset": expected}
        if provided is not None and re.fullmatch(r"[0-9]{1,19}", provided.strip()):
            body["provided-offset"] = int(provided)
        return Response(json.dumps(body), status_code=409, media_type="application/problem+json",
                        headers={"Upload-Offset": str(expected), "Upload-Complete": "?0"})


def _problem(status: int, detail: str, type_: str | None = None) -> Response:
    body = {"title": detail, "status": status}
    if type_:
        body["type"] = type_
    return Response(json.dumps(body), status_code=status, media_type="application/problem+json")

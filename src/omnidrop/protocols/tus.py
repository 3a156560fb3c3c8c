"""tus 1.0.0 with every official extension, turned into calls on the resumable-upload layer.

Extensions are advertised only for what works here: creation, creation-with-upload,
creation-defer-length, expiration, checksum (sha1, md5, sha256, and crc32c when the crc32c
package is installed), termination and concatenation (of finished partial uploads; the final
upload is assembled at creation, so `concatenation-unfinished` is not offered).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from omnidrop.protocols.body import request_body
from omnidrop.protocols.resumable_common import (
    BadRequestHeader,
    header_int,
    http_date,
    upload_id_from_url,
    upload_url,
)
from omnidrop.uploads.checksums import ALGORITHMS, ChunkDigest, InvalidChecksum, UnsupportedChecksum
from omnidrop.uploads.errors import (
    ChecksumMismatch,
    FileBusy,
    FileTooLarge,
    LengthExceeded,
    OffsetMismatch,
    StorageQuotaExceeded,
    TariffForbidsUpload,
    UploadError,
)
from omnidrop.uploads.events import CreationRejected
from omnidrop.uploads.resumable import (
    FINAL,
    PARTIAL,
    ConcatenationMismatch,
    FinalUploadImmutable,
    InvalidConcatenation,
    ResumableInfo,
    ResumableUploads,
    UploadGone,
    UploadNotFound,
)

TUS_VERSION = "1.0.0"
SUPPORTED_VERSIONS = (TUS_VERSION,)
EXTENSIONS = (
    "creation", "creation-with-upload", "creation-defer-length", "expiration", "checksum", "termination",
    "concatenation",
)
OFFSET_STREAM = "application/offset+octet-stream"
CHECKSUM_MISMATCH = 460  # tus checksum extension; not in RFC 9110



class UnsupportedMediaType(UploadError):
    code = "unsupported_media_type"


STATUS: dict[type[UploadError], int] = {
    UploadNotFound: 404,
    UploadGone: 410,
    FinalUploadImmutable: 403,
    OffsetMismatch: 409,
    FileBusy: 423,  # tusd's choice; tus-js-client retries a locked upload
    FileTooLarge: 413,
    LengthExceeded: 413,
    ChecksumMismatch: CHECKSUM_MISMATCH,
    UnsupportedChecksum: 400,
    InvalidChecksum: 400,
    InvalidConcatenation: 400,
    ConcatenationMismatch: 409,  # a partial's stored bytes are not what the database says: upload it again
    BadRequestHeader: 400,
    UnsupportedMediaType: 415,
    StorageQuotaExceeded: 413,
    TariffForbidsUpload: 403,
}
# Whoever is calling, resolved only when a request needs it (OPTIONS does not).
Authenticate = Callable[[], Awaitable[str]]


def parse_metadata(header: str | None) -> dict[str, str | None]:
    """`key base64,key2 base64,key3` → {key: value}; a key may come without a value."""
    meta: dict[str, str | None] = {}
    if not header or not header.strip():
        return meta
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        key = parts[0]
        if not key or len(parts) > 2 or key in meta:
            raise BadRequestHeader(f"malformed Upload-Metadata pair {pair.strip()!r}")
        if len(parts) == 1 or parts[1] == "":
            meta[key] = None
            continue
        try:
            meta[key] = base64.b64decode(parts[1], validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise BadRequestHeader(f"Upload-Metadata value of {key!r} is not base64 of UTF-8 text") from None
    return meta


def encode_metadata(meta: dict[str, str | None]) -> str:
    return ",".join(
        key if value is None else f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in meta.items()
    )


class TusProtocol:
    def __init__(self, uploads: ResumableUploads) -> None:
        self.uploads = uploads

    @property
    def max_size(self) -> int:
        return self.uploads.core.limits.max_file_bytes

    def capabilities(self) -> dict[str, str]:
        return {
            "Tus-Version": ",".join(SUPPORTED_VERSIONS),
            "Tus-Extension": ",".join(EXTENSIONS),
            "Tus-Max-Size": str(self.max_size),
            "Tus-Checksum-Algorithm": ",".join(ALGORITHMS),
        }

    async def handle(self, request: Request, method: str, upload_id: str | None, collection_url: str,
                     authenticate: Authenticate) -> Response:
        if method == "OPTIONS":  # no Tus-Resumable either way, and no credentials needed
            return Response(status_code=204, headers=self.capabilities())
        if request.headers.get("tus-resumable") not in SUPPORTED_VERSIONS:
            return Response("unsupported tus version", status_code=412, headers={
                "Tus-Version": ",".join(SUPPORTED_VERSIONS), "Tus-Resumable": TUS_VERSION})
        try:
            owner_id = await authenticate()
            if upload_id is None:
                if method != "POST":
                    return _plain("use POST to create an upload", 405, Allow="POST, OPTIONS")
                response = await self._create(request, owner_id, collection_url)
            elif method == "HEAD":
                response = await self._head(owner_id, upload_id, collection_url)
            elif method == "PATCH":
                response = await self._patch(request, owner_id, upload_id)
            elif method == "DELETE":
                await self.uploads.terminate(owner_id, upload_id, protocol="tus")
                response = Response(status_code=204)
            else:
                return _plain("method not allowed", 405, Allow="HEAD, PATCH, DELETE, OPTIONS")
        except CreationRejected as exc:
            response = _plain(str(exc), exc.status)
        except UploadError as exc:
            response = _plain(str(exc), STATUS.get(type(exc), 400))
        response.headers["Tus-Resumable"] = TUS_VERSION
        return response

    # -- creation ---------------------------------------------------------------------------------

    async def _create(self, request: Request, owner_id: str, collection_url: str) -> Response:
        h = request.headers
        meta = parse_metadata(h.get("upload-metadata"))
        concat = (h.get("upload-concat") or "").strip()
        if concat.startswith(FINAL + ";"):
            if "upload-length" in h:
                raise BadRequestHeader("a final upload must not carry Upload-Length")
            ids = [upload_id_from_url(u) for u in concat[len(FINAL) + 1:].split()]
            info = await self.uploads.concatenate(owner_id, ids, meta=meta, protocol="tus")
            return Response(status_code=201, headers=self._created_headers(info, collection_url))
        if concat not in ("", PARTIAL):
            raise BadRequestHeader(f"Upload-Concat must be 'partial' or 'final;<urls>', got {concat!r}")

        length = header_int(h.get("upload-length"), "Upload-Length")
        defer = h.get("upload-defer-length")
        if defer is not None and defer.strip() != "1":
            raise BadRequestHeader("Upload-Defer-Length must be 1")
        if (length is None) == (defer is None):
            raise BadRequestHeader("send exactly one of Upload-Length and Upload-Defer-Length: 1")
        has_body = _has_body(request)
        if has_body and _media_type(request) != OFFSET_STREAM:
            raise UnsupportedMediaType(f"a creation body needs Content-Type: {OFFSET_STREAM}")
        check = _checksum(request)  # before anything is created: a bad algorithm creates nothing
        info = await self.uploads.create(owner_id, length=length, meta=meta, protocol="tus", concat=concat)
        headers = self._created_headers(info, collection_url)
        if has_body:  # creation-with-upload
            info = await self.uploads.append(owner_id, info.id, offset=0, body=request_body(request, "tus"),
                                             length=header_int(h.get("content-length"), "Content-Length"),
                                             check=check, protocol="tus")
            headers["Upload-Offset"] = str(info.offset)
            headers.update(_expires(info))
        return Response(status_code=201, headers=headers)

    @staticmethod
    def _created_headers(info: ResumableInfo, collection_url: str) -> dict[str, str]:
        return {"Location": upload_url(collection_url, info.id), **_expires(info)}

    # -- offset retrieval and appends -------------------------------------------------------------

    async def _head(self, owner_id: str, upload_id: str, collection_url: str) -> Response:
        info = await self.uploads.get(owner_id, upload_id)
        headers = {"Cache-Control": "no-store", "Upload-Offset": str(info.offset), **_expires(info)}
        if info.length is None:
            headers["Upload-Defer-Length"] = "1"
        else:
            headers["Upload-Length"] = str(info.length)
        if info.meta:
            headers["Upload-Metadata"] = encode_metadata(info.meta)
        if info.concat == PARTIAL:
            headers["Upload-Concat"] = PARTIAL
        elif info.concat == FINAL:
            headers["Upload-Concat"] = "final;" + " ".join(upload_url(collection_url, p) for p in info.parts)
        return Response(status_code=200, headers=headers)

    async def _patch(self, request: Request, owner_id: str, upload_id: str) -> Response:
        h = request.headers
        info = await self.uploads.get(owner_id, upload_id)  # 404/410/403 before looking at the body
        if info.concat == FINAL:
            raise FinalUploadImmutable("a final upload cannot be modified")
        if _media_type(request) != OFFSET_STREAM:
            raise UnsupportedMediaType(f"PATCH needs Content-Type: {OFFSET_STREAM}")
        offset = header_int(h.get("upload-offset"), "Upload-Offset", required=True)
        info = await self.uploads.append(
            owner_id, upload_id, offset=offset, body=request_body(request, "tus"),
            length=header_int(h.get("content-length"), "Content-Length"),
            total=header_int(h.get("upload-length"), "Upload-Length"),
            check=_checksum(request), protocol="tus", current=info,
        )
        return Response(status_code=204, headers={"Upload-Offset": str(info.offset), **_expires(info)})


def _checksum(request: Request) -> ChunkDigest | None:
    header = request.headers.get("upload-checksum")
    return ChunkDigest.parse(header) if header else None


def _expires(info: ResumableInfo) -> dict[str, str]:
    return {"Upload-Expires": http_date(info.expires_at)} if info.expires_at is not None else {}


def _media_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower()


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "chunked" in (request.headers.get("transfer-encoding") or "").lower()


def _plain(message: str, status: int, **headers: str) -> Response:
    return Response(message + "\n", status_code=status, media_type="text/plain", headers=headers)

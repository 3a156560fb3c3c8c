"""Download URLs for derived assets that work without an API key, for a limited time.

On S3 they are S3's own presigned GETs, so the bytes never pass through omnidrop. On local disk they
point at omnidrop's `GET /_omnidrop/blobs/<key>`, signed with the shared UrlSigner (HMAC over method,
path and expiry) and served with Range support.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from omnidrop.auth.signing import UrlSigner
from omnidrop.protocols.downloads import blob_response
from omnidrop.storage.base import BlobStore, InvalidKey, check_key

BLOB_PREFIX = "/_omnidrop/blobs/"


def blob_url(store: BlobStore, signer: UrlSigner, base_url: str, key: str, expires_in: int) -> str:
    presign = getattr(store, "presign_get", None)
    if presign is not None:
        return presign(key, expires_in)
    path = BLOB_PREFIX + key
    # The MAC covers the decoded path, which is what the server sees once the URL is unquoted.
    query = signer.sign("GET", path, expires_in).partition("?")[2]
    return f"{base_url.rstrip('/')}{quote(path)}?{query}"


async def serve_signed_blob(store: BlobStore, signer: UrlSigner, request: Request) -> Response:
    """Raises SignatureInvalid / SignatureExpired before anything is read from the store."""
    path = request.url.path
    signer.verify(request.method, path, dict(request.query_params))
    try:
        key = check_key(path.removeprefix(BLOB_PREFIX))
    except InvalidKey:
        return Response(status_code=404)
    return await blob_response(store, key, request.headers.get("range"))

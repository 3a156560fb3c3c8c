"""S3-style presigned parts over HTTP: part URLs, the part PUT omnidrop serves itself, completion.

On S3 a part URL is the store's presigned UploadPart URL and the bytes never pass through omnidrop.
On local disk the URL points at omnidrop (`/_omnidrop/parts/{upload}/{number}`), signed with HMAC
over method, path and expiry; the PUT answers with the part's ETag header, as S3 does.
"""

from __future__ import annotations

from urllib.parse import urljoin

from starlette.requests import Request

from omnidrop.auth.signing import UrlSigner
from omnidrop.protocols.body import request_body
from omnidrop.storage.multipart import PartInfo
from omnidrop.uploads.parts import PartsCore, Upload, check_part_number

PART_PATH = "/_omnidrop/parts/{upload_id}/{number}"


def part_url(parts: PartsCore, signer: UrlSigner, upload: Upload, number: int, base_url: str, expires_in: int) -> str:
    """Where the client PUTs part `number` (1-based)."""
    url = parts.store_part_url(upload, number, expires_in)
    if url is not None:
        return url
    path = PART_PATH.format(upload_id=upload.id, number=number)
    return urljoin(base_url, signer.sign("PUT", path, expires_in))


async def receive_part(parts: PartsCore, signer: UrlSigner, request: Request, upload_id: str, number: int) -> PartInfo:
    """A PUT to omnidrop's own part URL: signature first (method, path, expiry), then the bytes."""
    signer.verify(request.method, request.url.path, dict(request.query_params))
    check_part_number(number)
    return await parts.receive_part(upload_id, number, request_body(request, "parts"))

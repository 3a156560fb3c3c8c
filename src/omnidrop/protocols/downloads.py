"""Serving a blob over HTTP: streamed, with single-range `Range: bytes=a-b` support.

Every answer carries `X-Content-Type-Options: nosniff`: a blob is whatever its uploader sent, and a
browser must not second-guess its type into HTML or script run on omnidrop's origin.
"""

from __future__ import annotations

import mimetypes
import re

from starlette.responses import Response, StreamingResponse

from omnidrop.storage.base import BlobStore

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
NOSNIFF = {"X-Content-Type-Options": "nosniff"}


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) for a satisfiable single range; None means the whole blob.
    Raises ValueError for an unsatisfiable one."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None  # unsupported forms (multiple ranges) get the whole body, as RFC 9110 allows
    first, last = m.group(1), m.group(2)
    if first:
        start = int(first)
        end = min(int(last) + 1, size) if last else size
    else:
        start, end = max(0, size - int(last)), size
    if start >= size or start >= end:
        raise ValueError("unsatisfiable range")
    return start, end


async def blob_response(store: BlobStore, key: str, range_header: str | None, filename: str | None = None,
                        media_type: str | None = None) -> Response:
    """`media_type` defaults to a guess from `filename` (or the key)."""
    size = await store.size(key)
    if size is None:
        return Response(status_code=404, headers=NOSNIFF)
    media_type = media_type or mimetypes.guess_type(filename or key)[0] or "application/octet-stream"
    headers = {"Accept-Ranges": "bytes", **NOSNIFF}
    try:
        span = parse_range(range_header, size)
    except ValueError:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{size}", **NOSNIFF})
    if span is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(store.read(key), media_type=media_type, headers=headers)
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Content-Length"] = str(end - start)
    return StreamingResponse(store.read(key, start, end), status_code=206, media_type=media_type, headers=headers)

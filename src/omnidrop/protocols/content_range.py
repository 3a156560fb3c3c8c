"""Whole-file or `Content-Range: bytes a-b/total` chunked PUTs, turned into core writes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import Request

from omnidrop.protocols.body import request_body
from omnidrop.uploads.core import FileProgress, UploadCore
from omnidrop.uploads.errors import LengthMismatch, UploadError

# At most 19 ASCII digits each: no byte count is longer, and int() refuses past 4300 digits.
_RANGE = re.compile(r"^\s*bytes\s+([0-9]{1,19})-([0-9]{1,19})/([0-9]{1,19})\s*$", re.IGNORECASE)


class InvalidContentRange(UploadError):
    code = "invalid_content_range"


class LengthRequired(UploadError):
    code = "length_required"


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as on the wire
    total: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_content_range(value: str) -> ByteRange:
    m = _RANGE.match(value)
    if not m:
        raise InvalidContentRange(f"expected 'bytes <start>-<end>/<total>', got {value!r}")
    start, end, total = (int(g) for g in m.groups())
    if start > end or end >= total:
        raise InvalidContentRange(f"range {start}-{end} does not fit a total of {total}")
    return ByteRange(start, end, total)


def _content_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19):
        raise LengthRequired(f"unusable Content-Length {raw!r}")
    return int(raw)


async def put_file(core: UploadCore, owner_id: str, session_id: str, filename: str, request: Request) -> FileProgress:
    """One PUT: the whole file (Content-Length required) or one chunk of it (Content-Range)."""
    declared = _content_length(request)
    header = request.headers.get("content-range")
    if header is None:
        if declared is None:
            raise LengthRequired("a whole-file PUT needs Content-Length")
        start, length, total = 0, declared, declared
    else:
        byte_range = parse_content_range(header)
        if declared is not None and declared != byte_range.length:
            raise LengthMismatch(byte_range.length, declared)
        start, length, total = byte_range.start, byte_range.length, byte_range.total
    return await core.write(
        owner_id, session_id, filename, start=start, length=length, total=total, body=request_body(request, "content_range")
    )

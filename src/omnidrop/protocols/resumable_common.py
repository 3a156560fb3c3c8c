"""Pieces tus and the IETF resumable-upload draft share: header integers, upload URLs, HTTP dates."""

from __future__ import annotations

import email.utils
from datetime import datetime

from omnidrop.uploads.errors import UploadError


class BadRequestHeader(UploadError):
    code = "bad_request_header"


def header_int(value: str | None, name: str, *, required: bool = False) -> int | None:
    """A non-negative decimal integer header, or None when absent and optional."""
    if value is None:
        if required:
            raise BadRequestHeader(f"{name} is required")
        return None
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise BadRequestHeader(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def http_date(moment: datetime) -> str:
    return email.utils.format_datetime(moment, usegmt=True)


def upload_url(collection_url: str, upload_id: str) -> str:
    return collection_url.rstrip("/") + "/" + upload_id


def upload_id_from_url(url: str) -> str:
    """The last path segment of an upload URL (absolute or relative); the caller checks ownership."""
    path = url.strip().split("?", 1)[0].split("#", 1)[0].rstrip("/")
    return path.rsplit("/", 1)[-1]

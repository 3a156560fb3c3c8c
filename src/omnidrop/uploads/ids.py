"""Opaque identifiers."""

from __future__ import annotations

import re
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")


def new_id(length: int = 12) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def is_valid_upload_id(value: str) -> bool:
    return bool(_UPLOAD_ID.match(value))

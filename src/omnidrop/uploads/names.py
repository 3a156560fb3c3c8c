"""Filenames: flattened to one safe path component, and checked against the allowed extensions."""

from __future__ import annotations

import re
import unicodedata

from omnidrop.uploads.errors import ExtensionNotAllowed, InvalidFilename

MAX_NAME_BYTES = 255
# Separators, characters Windows and shells trip over, and control characters.
_UNSAFE = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]')


def flatten_filename(raw: str) -> str:
    """`a/b\\c.jpg` -> `abc.jpg`: separators and unsafe characters are stripped, not interpreted."""
    name = _UNSAFE.sub("", unicodedata.normalize("NFC", raw))
    # Leading dots would hide the file or spell `..`; trailing dots and spaces vanish on Windows.
    name = name.strip().lstrip(".").rstrip(". ")
    if not name or len(name.encode()) > MAX_NAME_BYTES:
        raise InvalidFilename(f"unusable filename {raw!r}")
    return name


def extension_of(name: str, allowed: list[str]) -> str:
    """The longest allowed suffix (`tar.gz` before `gz`), else the last one."""
    lower = name.lower()
    for ext in sorted(allowed, key=len, reverse=True):
        if lower.endswith("." + ext):
            return ext
    return lower.rsplit(".", 1)[1] if "." in lower else ""


def check_extension(name: str, allowed: list[str]) -> str:
    ext = extension_of(name, allowed)
    if ext not in allowed:
        raise ExtensionNotAllowed(ext, sorted(allowed))
    return ext

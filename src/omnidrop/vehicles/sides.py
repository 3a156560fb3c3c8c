"""Sides, vehicle UUIDs and accepted video names: the small vocabulary every vehicle module shares."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from omnidrop.vehicles.errors import InvalidSide, InvalidVehicleUuid

SIDES = ("OUTSIDE", "INSIDE", "OPEN")
# The spec's formats: MP4, AVI, MOV, WMV, FLV, WebM, MKV, QuickTime (.mov, .qt).
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".wmv", ".flv", ".webm", ".mkv", ".qt")


def parse_side(value: object) -> str:
    # Values may come from a JSON body, so anything that is not text is simply not a side.
    side = value.strip().upper() if isinstance(value, str) else ""
    if side not in SIDES:
        raise InvalidSide(f"side must be one of {', '.join(SIDES)} (got {value!r})", allowed=list(SIDES))
    return side


def parse_vehicle_uuid(value: object) -> str:
    try:
        return str(uuid.UUID(value.strip() if isinstance(value, str) else ""))
    except ValueError:
        raise InvalidVehicleUuid(f"vehicle_uuid must be a UUID (got {value!r})") from None


def video_extension(filename: str) -> str | None:
    ext = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    return ext if ext in VIDEO_EXTENSIONS else None

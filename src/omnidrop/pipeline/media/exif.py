"""Where and when a photo was taken, from its EXIF: GPS position, altitude, heading, DateTimeOriginal.

Read with Pillow's EXIF parser (the GPS IFD 0x8825 and the Exif IFD 0x8769); nothing else is
trusted. A value that is missing, malformed or out of range is left out rather than guessed.

`taken_at` is the camera's wall-clock time as written (`YYYY-MM-DDTHH:MM:SS[.fff]`), with the offset
when the camera wrote OffsetTimeOriginal; photos of one camera compare correctly either way.
"""

from __future__ import annotations

import re
from typing import Any

from PIL import Image

GPS_IFD, EXIF_IFD = 0x8825, 0x8769
DATETIME_ORIGINAL, SUBSEC_ORIGINAL, OFFSET_ORIGINAL = 0x9003, 0x9291, 0x9011
DATETIME = 0x0132  # IFD0 DateTime, used when DateTimeOriginal is absent
_GPS_LAT_REF, _GPS_LAT, _GPS_LNG_REF, _GPS_LNG, _GPS_ALT_REF, _GPS_ALT = 1, 2, 3, 4, 5, 6
_GPS_DIRECTION = 17
_EXIF_TIME = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$")
_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if number == number and abs(number) != float("inf") else None  # not NaN / inf


def _degrees(value: Any) -> float | None:
    """(degrees, minutes, seconds) rationals, or one number."""
    if isinstance(value, (tuple, list)):
        parts = [_number(v) for v in value[:3]]
        if not parts or any(p is None for p in parts):
            return None
        return sum(p / 60**i for i, p in enumerate(parts))
    return _number(value)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value or "").strip("\x00 ").strip()


def gps(exif: Image.Exif) -> dict[str, float] | None:
    """{"lat", "lng"[, "alt"][, "heading"]} in degrees / metres, or None when there is no usable fix."""
    try:
        ifd = exif.get_ifd(GPS_IFD)
    except (KeyError, ValueError, TypeError, OSError):
        return None
    lat, lng = _degrees(ifd.get(_GPS_LAT)), _degrees(ifd.get(_GPS_LNG))
    if lat is None or lng is None:
        return None
    if _text(ifd.get(_GPS_LAT_REF)).upper() == "S":
        lat = -lat
    if _text(ifd.get(_GPS_LNG_REF)).upper() == "W":
        lng = -lng
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or (lat == 0 and lng == 0):
        return None  # (0, 0) is what cameras without a fix often write
    found: dict[str, float] = {"lat": round(lat, 8), "lng": round(lng, 8)}
    alt = _number(ifd.get(_GPS_ALT))
    if alt is not None:
        below = ifd.get(_GPS_ALT_REF) in (1, b"\x01")
        found["alt"] = round(-alt if below else alt, 3)
    heading = _number(ifd.get(_GPS_DIRECTION))
    if heading is not None and 0 <= heading <= 360:
        found["heading"] = round(heading % 360, 3)
    return found


def taken_at(exif: Image.Exif) -> str | None:
    """DateTimeOriginal (else DateTime) as ISO 8601, with sub-seconds and offset when present."""
    try:
        ifd = exif.get_ifd(EXIF_IFD)
    except (KeyError, ValueError, TypeError, OSError):
        ifd = {}
    raw = _text(ifd.get(DATETIME_ORIGINAL) or exif.get(DATETIME))
    m = _EXIF_TIME.match(raw)
    if not m:
        return None
    year, month, day, hour, minute, second = m.groups()
    if not ("1900" <= year <= "2999" and "01" <= month <= "12" and "01" <= day <= "31"):
        return None
    text = f"{year}-{month}-{day}T{hour}:{minute}:{second}"
    subsec = _text(ifd.get(SUBSEC_ORIGINAL))
    if subsec.isdigit():
        text += f".{subsec[:6]}"
    offset = _text(ifd.get(OFFSET_ORIGINAL))
    if _OFFSET.match(offset):
        text += offset
    return text


def photo_metadata(im: Image.Image) -> dict[str, Any]:
    """`gps` and `taken_at` of an open image, only those it has (for the file's `details`)."""
    try:
        exif = im.getexif()
    except (ValueError, TypeError, OSError, SyntaxError):
        return {}
    found: dict[str, Any] = {}
    where = gps(exif)
    if where:
        found["gps"] = where
    when = taken_at(exif)
    if when:
        found["taken_at"] = when
    return found

"""Values the walkthrough spec passes as strings: `DD-MM-YYYY` dates and `"lat,lng"` positions."""

from __future__ import annotations

import math
import re
from datetime import date, datetime

from omnidrop.walkthrough.errors import InvalidInput

_NUMBER = r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*"
_POSITION = re.compile(rf"^{_NUMBER},{_NUMBER}$")


def parse_date(value: str) -> date:
    try:
        return datetime.strptime(value.strip(), "%d-%m-%Y").date()
    except ValueError:
        raise InvalidInput(f"date must be DD-MM-YYYY, got {value!r}") from None


def parse_position(field: str, value: str) -> tuple[float, float]:
    m = _POSITION.match(value or "")
    if not m:
        raise InvalidInput(f"{field} must be \"latitude,longitude\", got {value!r}")
    lat, lng = float(m.group(1)), float(m.group(2))
    if not (math.isfinite(lat) and -90 <= lat <= 90 and math.isfinite(lng) and -180 <= lng <= 180):
        raise InvalidInput(f"{field} is outside -90..90, -180..180: {value!r}")
    return lat, lng


def format_position(lat: float | None, lng: float | None) -> str | None:
    return None if lat is None or lng is None else f"{lat},{lng}"

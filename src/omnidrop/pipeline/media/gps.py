"""GPS positions a video carries, as fixes on the video's own clock (seconds from its start).

What is read, best first:
1. the Insta360 trailer's GPS record (a track, one fix per second or so, when the camera had a GPS
   source: phone app or GPS remote). Fix times are unix seconds; they are put on the video's clock
   with the container's `creation_time` when the track falls inside the recording, else counted
   from the first fix (cameras are known to write creation_time in local time);
2. the container-level location tag, ISO 6709 (`+53.3498-006.2603/`), that FFmpeg exposes as the
   `location` metadata of MP4/MOV (the `©xyz` atom phones and many cameras write) or as Apple's
   `com.apple.quicktime.location.ISO6709` key: one fix, where the recording started.

Not read: GoPro GPMF (the `gpmd` data track), Google CAMM, DJI subtitles, per-frame EXIF. Those
files fall back to the start/end interpolation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from omnidrop.pipeline.media import insta360
from omnidrop.walkthrough.placement import Fix

LOCATION_KEYS = ("location", "com.apple.quicktime.location.ISO6709", "location-eng")
_COORD = r"([+-])(\d+)(\.\d+)?"
_ISO6709 = re.compile(rf"^{_COORD}{_COORD}(?:{_COORD})?(?:CRS[^/]*)?/?$")
# Slack around the recording span when matching a track to creation_time.
_CLOCK_SLACK_SECONDS = 5.0


@dataclass(frozen=True)
class GpsTrack:
    fixes: tuple[Fix, ...]
    source: str  # "insta360", "iso6709" or "none"


def _angle(sign: str, whole: str, frac: str | None, degree_digits: int) -> float | None:
    """±DD[D].D, ±DDMM[M].M or ±DDMMSS[S].S, told apart by the digits before the point."""
    digits = len(whole)
    value = float(whole + (frac or ""))
    if digits == degree_digits:
        degrees = value
    elif digits == degree_digits + 2:
        degrees = int(whole[:-2]) + float(whole[-2:] + (frac or "")) / 60
    elif digits == degree_digits + 4:
        degrees = int(whole[:-4]) + int(whole[-4:-2]) / 60 + float(whole[-2:] + (frac or "")) / 3600
    else:
        return None
    return -degrees if sign == "-" else degrees


def parse_iso6709(text: str) -> tuple[float, float] | None:
    """(lat, lng) from an ISO 6709 point such as `+53.3498-006.2603+012.5/`, or None."""
    m = _ISO6709.match((text or "").strip())
    if not m:
        return None
    lat = _angle(m.group(1), m.group(2), m.group(3), 2)
    lng = _angle(m.group(4), m.group(5), m.group(6), 3)
    if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return lat, lng


def container_location(*metadata: Mapping[str, str]) -> tuple[float, float] | None:
    """The first ISO 6709 location among the container's and the streams' metadata."""
    for tags in metadata:
        for key in LOCATION_KEYS:
            found = parse_iso6709(tags.get(key, ""))
            if found is not None:
                return found
    return None


def _creation_unix(metadata: Mapping[str, str]) -> float | None:
    raw = metadata.get("creation_time")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def _on_video_clock(fixes: list[insta360.GpsFix], created: float | None, duration: float) -> tuple[Fix, ...]:
    origin = fixes[0].unix_time
    if created is not None and created - _CLOCK_SLACK_SECONDS <= fixes[0].unix_time \
            and fixes[-1].unix_time <= created + duration + _CLOCK_SLACK_SECONDS:
        origin = created
    return tuple(Fix(fix.unix_time - origin, fix.lat, fix.lng) for fix in fixes)


def read_track(path: str | Path, metadata: Mapping[str, str], stream_metadata: Mapping[str, str],
               duration: float) -> GpsTrack:
    """The best GPS the file has; ``metadata`` is the container's, ``stream_metadata`` the video stream's."""
    fixes = insta360.gps_fixes(path)
    if fixes:
        return GpsTrack(_on_video_clock(fixes, _creation_unix(metadata), duration), "insta360")
    found = container_location(metadata, stream_metadata)
    if found is not None:
        return GpsTrack((Fix(0.0, *found),), "iso6709")
    return GpsTrack((), "none")

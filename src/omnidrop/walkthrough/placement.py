"""Where each panorama of a walk goes: its time in the video, its position, its spot on the drawing.

Pure arithmetic, no I/O. The walk is assumed to go at constant speed from `start_position` to
`end_position` (what the walkthrough API gives), so point i of N sits at the fraction i/(N-1) of
both the time span and the path. Where the file carries a GPS track, a point inside the track's
time span takes the track's position instead (research/media.md §6). Plain lat/lng interpolation
is fine at building scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

INTERPOLATED = "interpolated"
GPS = "gps"

# GPS fixes further apart than this are a gap (tunnel, indoors): no interpolation across it.
MAX_FIX_GAP_SECONDS = 10.0
# A point this close in time to a lone fix (e.g. a file-level location tag at t=0) takes that fix.
LONE_FIX_REACH_SECONDS = 0.5


@dataclass(frozen=True)
class Fix:
    """One GPS position at a time in the video (seconds from its first frame)."""

    time: float
    lat: float
    lng: float


@dataclass(frozen=True)
class Placement:
    time: float
    lat: float
    lng: float
    source: str  # INTERPOLATED or GPS


@dataclass(frozen=True)
class DrawingBounds:
    north: float
    south: float
    east: float
    west: float


def fractions(count: int) -> list[float]:
    """Evenly spaced fractions of the walk, both ends included; a single point sits halfway."""
    if count < 1:
        return []
    if count == 1:
        return [0.5]
    return [i / (count - 1) for i in range(count)]


def point_times(first: float, last: float, count: int) -> list[float]:
    """`count` times from `first` to `last` (the first and last frame), evenly spaced."""
    return [first + (last - first) * f for f in fractions(count)]


def interpolate(start: tuple[float, float], end: tuple[float, float], f: float) -> tuple[float, float]:
    return start[0] + (end[0] - start[0]) * f, start[1] + (end[1] - start[1]) * f


def gps_at(track: Sequence[Fix], t: float) -> tuple[float, float] | None:
    """The track's position at time t, or None where the track does not cover t."""
    if not track:
        return None
    if len(track) == 1 or t <= track[0].time or t >= track[-1].time:
        nearest = min(track, key=lambda fix: abs(fix.time - t))
        return (nearest.lat, nearest.lng) if abs(nearest.time - t) <= LONE_FIX_REACH_SECONDS else None
    for before, after in zip(track, track[1:]):
        if before.time <= t <= after.time:
            span = after.time - before.time
            if span > MAX_FIX_GAP_SECONDS:
                return None
            f = 0.0 if span == 0 else (t - before.time) / span
            return interpolate((before.lat, before.lng), (after.lat, after.lng), f)
    return None  # unreachable for a sorted track


def place(times: Sequence[float], start: tuple[float, float], end: tuple[float, float],
          track: Sequence[Fix] = ()) -> list[Placement]:
    """A placement per time: from the GPS track where it covers the time, else along start -> end."""
    track = sorted(track, key=lambda fix: fix.time)
    placed = []
    for t, f in zip(times, fractions(len(times))):
        found = gps_at(track, t)
        if found is not None:
            placed.append(Placement(t, found[0], found[1], GPS))
        else:
            lat, lng = interpolate(start, end, f)
            placed.append(Placement(t, lat, lng, INTERPOLATED))
    return placed


def drawing_xy(lat: float, lng: float, bounds: DrawingBounds) -> tuple[float, float]:
    """Normalised image coordinates: x 0..1 from the west edge to the east, y 0..1 from north to south.

    Not clamped: a point off the drawing gets a value outside 0..1, so a viewer can tell. A drawing
    whose west edge is east of its east edge spans the antimeridian.
    """
    width = bounds.east - bounds.west
    dx = lng - bounds.west
    if width < 0:  # across the antimeridian
        width += 360.0
        dx = dx + 360.0 if dx < 0 else dx
    x = dx / width
    y = (bounds.north - lat) / (bounds.north - bounds.south)
    return x, y

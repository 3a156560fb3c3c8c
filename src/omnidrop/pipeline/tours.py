"""A project's 360 virtual tour: every panorama it holds, ordered and linked, as one JSON asset.

Panoramas ("spots") come from
- equirectangular photos (the file itself), with GPS and capture time from EXIF (media/exif.py);
- a file's `panoramas` manifest asset (pipeline/tour_panoramas.py for 360 videos, `.insv` converted
  first; point-cloud conversion for the panoramic images of E57 scans): entries name an asset
  `role` of that file and may carry `gps` {lat, lng[, alt]}, `taken_at`, `time` (seconds into the
  file), `position` [x, y[, z]] (metres in the file's own frame), `heading` and `name`;
- a file's `panorama_0001`… assets when it has no (readable) manifest; a `panoramas` asset that is
  itself a JPEG or PNG is one panorama.

Order and links, best first:
1. GPS (two spots or more have it): the path walked, that is capture time order when every placed
   spot has a time, else a nearest-neighbour chain from the first spot by name. Each spot links to
   the one before and after on the path and to its nearest neighbours (up to 3) within twice the
   median step, both ways. A link carries the bearing as `yaw` (degrees, clockwise from the
   panorama's centre, taken as facing north unless EXIF gave GPSImgDirection) and the distance.
   Positions (`x` east, `y` north, metres from the first spot) let the viewer draw a plan.
2. Positions (two spots or more have `position`, e.g. E57 scans): the same, in the scan's frame.
3. Capture time, then name: a chain; forward (`yaw` 0) to the next, back (`yaw` 180) to the previous.
Spots without GPS/position in a GPS tour join the chain after the placed ones, by time then name.

The same files give the same tour (ids `n1`, `n2`… in path order): a re-run overwrites it by key.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select

from omnidrop.db.models import ProjectFile
from omnidrop.pipeline.blobs import put_bytes

if TYPE_CHECKING:
    from omnidrop.jobs.runner import JobContext

EARTH_RADIUS_M = 6_371_008.8
MAX_NEAR_LINKS = 3
MANIFEST_ROLE = "panoramas"
_PANORAMA_ROLE = re.compile(r"^panorama_\d+$")
_DIGITS = re.compile(r"(\d+)")


@dataclass
class Spot:
    file: str
    role: str | None  # an asset role of `file`, or None for the file itself
    name: str
    seq: int = 0  # order within its file
    gps: tuple[float, float, float | None] | None = None  # lat, lng, alt
    position: tuple[float, float] | None = None  # metres, x east / y north (or the scan's frame)
    taken_at: datetime | None = None
    heading: float | None = None
    thumbnail_role: str | None = None
    xy: tuple[float, float] | None = field(default=None, repr=False)


def _natural(text: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p.lower() for p in _DIGITS.split(text))


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time as naive wall-clock (offsets dropped: spots of one capture compare right)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return None


def _gps(value: Any) -> tuple[float, float, float | None] | None:
    if not isinstance(value, dict):
        return None
    try:
        lat, lng = float(value["lat"]), float(value["lng"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or math.isnan(lat) or math.isnan(lng):
        return None
    alt = value.get("alt")
    return lat, lng, float(alt) if isinstance(alt, (int, float)) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _position(value: Any) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) >= 2:
        x, y = _number(value[0]), _number(value[1])
        if x is not None and y is not None:
            return x, y
    return None


def bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Degrees clockwise from north (or from +y) going from a to b, in local metres."""
    return math.degrees(math.atan2(b[0] - a[0], b[1] - a[1])) % 360


def local_xy(origin: tuple[float, float], lat: float, lng: float) -> tuple[float, float]:
    """Metres east and north of `origin` (lat, lng): equirectangular, plenty for a site."""
    x = math.radians(lng - origin[1]) * math.cos(math.radians(origin[0])) * EARTH_RADIUS_M
    y = math.radians(lat - origin[0]) * EARTH_RADIUS_M
    return x, y


def _by_time_then_name(spot: Spot) -> tuple:
    return (spot.taken_at is None, spot.taken_at or datetime.min, _natural(spot.file), spot.seq)


def _chain(spots: list[Spot]) -> list[Spot]:
    """Nearest-neighbour path through placed spots, from the first by name (ties: the first by name)."""
    spots = sorted(spots, key=lambda s: (_natural(s.file), s.seq))
    xy = np.array([s.xy for s in spots], dtype=float)
    free = np.ones(len(spots), dtype=bool)
    path, here = [0], 0
    free[0] = False
    for _ in range(len(spots) - 1):
        d = np.hypot(*(xy - xy[here]).T)
        d[~free] = np.inf
        here = int(np.argmin(d))  # the lowest index among equals
        free[here] = False
        path.append(here)
    return [spots[i] for i in path]


def order(spots: list[Spot]) -> tuple[list[Spot], str]:
    """The spots in path order, and what ordered them: "gps", "position", "time" or "name"."""
    with_gps = [s for s in spots if s.gps is not None]
    with_position = [s for s in spots if s.position is not None]
    if len(with_gps) >= 2:
        placed, mode = with_gps, "gps"
        origin = min(placed, key=lambda s: (_natural(s.file), s.seq)).gps
        for s in placed:
            s.xy = local_xy((origin[0], origin[1]), s.gps[0], s.gps[1])
    elif len(with_position) >= 2:
        placed, mode = with_position, "position"
        for s in placed:
            s.xy = s.position
    else:
        mode = "time" if any(s.taken_at for s in spots) else "name"
        return sorted(spots, key=_by_time_then_name), mode
    if all(s.taken_at is not None for s in placed):
        path = sorted(placed, key=_by_time_then_name)
    else:
        path = _chain(placed)
    ids = {id(s) for s in placed}
    return path + sorted((s for s in spots if id(s) not in ids), key=_by_time_then_name), mode


def build(spots: list[Spot]) -> dict | None:
    """The tour document, or None when there is no panorama at all."""
    if not spots:
        return None
    path, mode = order(spots)
    ids = {id(s): f"n{i + 1}" for i, s in enumerate(path)}
    links: dict[int, dict[int, None]] = {i: {} for i in range(len(path))}  # ordered sets

    def link(a: int, b: int) -> None:
        if a != b:
            links[a][b] = None
            links[b][a] = None

    for i in range(len(path) - 1):
        link(i, i + 1)
    placed = [i for i, s in enumerate(path) if s.xy is not None]
    steps = [math.dist(path[i].xy, path[j].xy) for i, j in zip(placed, placed[1:]) if j == i + 1]
    if steps:
        reach = 2 * max(median(steps), 1.0)
        xy = np.array([path[i].xy for i in placed], dtype=float)
        for a, i in enumerate(placed):
            d = np.hypot(*(xy - xy[a]).T)
            d[a] = np.inf
            k = min(MAX_NEAR_LINKS, len(placed) - 1)
            nearest = np.argpartition(d, k - 1)[:k] if k else []
            for b in sorted(nearest, key=lambda b: (d[b], b)):
                if d[b] <= reach:
                    link(i, placed[int(b)])

    nodes = []
    for i, s in enumerate(path):
        out = []
        for j in sorted(links[i]):
            other = path[j]
            entry: dict[str, Any] = {"node": ids[id(other)]}
            if s.xy is not None and other.xy is not None:
                entry["yaw"] = round((bearing(s.xy, other.xy) - (s.heading or 0.0)) % 360, 2)
                entry["distance"] = round(math.dist(s.xy, other.xy), 2)
            else:
                entry["yaw"] = 0.0 if j > i else 180.0  # forward along the chain, or back
            out.append(entry)
        node: dict[str, Any] = {"id": ids[id(s)], "file": s.file, "role": s.role, "name": s.name,
                                "thumbnail_role": s.thumbnail_role, "links": out}
        if s.gps is not None:
            node["gps"] = {"lat": s.gps[0], "lng": s.gps[1], **({"alt": s.gps[2]} if s.gps[2] is not None else {})}
        if s.xy is not None:
            node["position"] = [round(s.xy[0], 3), round(s.xy[1], 3)]
        if s.taken_at is not None:
            node["taken_at"] = s.taken_at.isoformat()
        if s.heading is not None:
            node["heading"] = s.heading
        nodes.append(node)
    return {"version": 1, "ordered_by": mode, "gps": mode == "gps", "start": nodes[0]["id"], "nodes": nodes}


def photo_spot(f: ProjectFile) -> Spot | None:
    details = f.details or {}
    if f.kind != "image" or details.get("equirectangular") is not True or details.get("error"):
        return None
    where = _gps(details.get("gps"))
    heading = _number((details.get("gps") or {}).get("heading")) if isinstance(details.get("gps"), dict) else None
    return Spot(f.name, None, f.name, gps=where, taken_at=parse_time(details.get("taken_at")), heading=heading,
                thumbnail_role="thumbnail" if "thumbnail" in (f.assets or {}) else None)


def manifest_spots(f: ProjectFile, manifest: Any) -> list[Spot]:
    """The spots a `panoramas` manifest lists (entries naming an asset this file does not have are skipped)."""
    entries = manifest.get("panoramas") if isinstance(manifest, dict) else None
    spots = []
    for seq, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict) or entry.get("role") not in (f.assets or {}):
            continue
        role = entry["role"]
        label = entry.get("name") if isinstance(entry.get("name"), str) else None
        when = _number(entry.get("time"))
        label = label or (f"{f.name} · {when:.1f} s" if when is not None else f"{f.name} · {seq + 1}")
        spots.append(Spot(f.name, role, label, seq=seq, gps=_gps(entry.get("gps")),
                          position=_position(entry.get("position")), taken_at=parse_time(entry.get("taken_at")),
                          heading=_number(entry.get("heading"))))
    return spots


def role_spots(f: ProjectFile) -> list[Spot]:
    roles = sorted((r for r in (f.assets or {}) if _PANORAMA_ROLE.match(r)), key=_natural)
    return [Spot(f.name, r, f"{f.name} · {i + 1}", seq=i) for i, r in enumerate(roles)]


_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG")


async def _read_manifest(store, key: str, limit: int = 8 * 1024 * 1024) -> Any:
    """The JSON a `panoramas` asset holds; "image" when the asset is one panorama image itself;
    None when it is neither (too large, not JSON)."""
    data = bytearray()
    async for block in store.read(key):
        data += block
        if bytes(data[:4]).startswith(_IMAGE_MAGIC):
            return "image"
        if len(data) > limit:
            return None
    try:
        return json.loads(bytes(data))
    except (ValueError, UnicodeDecodeError):
        return None


def tour_key(project_id: str) -> str:
    return f"projects/{project_id}/tour/tour.json"


async def build_project_tour(ctx: JobContext, project_id: str) -> dict | None:
    """Build and store the project's tour; the summary for `projects.tour` (None: no panoramas)."""
    async with ctx.services.db.read() as s:
        files = (await s.scalars(select(ProjectFile).where(ProjectFile.project_id == project_id)
                                 .order_by(ProjectFile.id))).all()
    spots: list[Spot] = []
    for f in files:
        photo = photo_spot(f)
        if photo is not None:
            spots.append(photo)
            continue
        found: list[Spot] = []
        if MANIFEST_ROLE in (f.assets or {}):  # kept even when another step of the file failed
            manifest = await _read_manifest(ctx.services.store, f.assets[MANIFEST_ROLE])
            if manifest == "image":  # the asset is the one panorama itself
                found = [Spot(f.name, MANIFEST_ROLE, f.name)]
            else:
                found = manifest_spots(f, manifest)
        spots.extend(found or role_spots(f))
    tour = build(spots)
    key = tour_key(project_id)
    if tour is None:
        await ctx.services.store.delete(key)  # an earlier run's, should the files have changed
        return None
    await put_bytes(ctx.services.store, key, json.dumps(tour, separators=(",", ":")).encode())
    return {"key": key, "nodes": len(tour["nodes"]), "ordered_by": tour["ordered_by"], "gps": tour["gps"]}

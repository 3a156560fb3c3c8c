"""Placing a capture's COLMAP model on the Earth from the GPS positions its photos carried.

COLMAP's model frame is arbitrary (origin, orientation and scale are whatever the first pair gave). When
enough registered frames carry an EXIF GPS fix, `register(frames, gps_by_name)` fits the similarity
transform (scale, rotation, translation) that maps their camera centres onto their GPS positions,
expressed in a local East-North-Up frame (metres) whose origin is the GPS centroid. With it a
latitude/longitude area (the capture's focus_area) has a place in the model.

When it is attempted, and when it is refused (the reason is recorded instead of a transform):

- at least MIN_FRAMES registered frames with a fix;
- the fixes spread at least MIN_SPREAD_M apart, and not along one line: the second principal axis of the
  positions must reach MIN_WIDTH_RATIO of the first (a similarity fit to points on a line leaves the
  rotation about that line free; GPS jitter across a straight walk would make one up);
- the fit's RMS residual must stay under MAX_RMS_RATIO of the positions' RMS spread (phone GPS is off by
  metres: on a capture a few metres across that is no registration, only noise).

Altitudes are used only when every fix has one; otherwise all fixes are taken at one height (photos taken
at hand height over roughly level ground), which still fixes east and north.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# WGS84 (what GPS reports positions on)
WGS84_A = 6378137.0
WGS84_F = 1 / 298.257223563
WGS84_E2 = WGS84_F * (2 - WGS84_F)

MIN_FRAMES = 3
MIN_SPREAD_M = 1.0
MIN_WIDTH_RATIO = 0.1
MAX_RMS_RATIO = 0.2


def ecef(lat: np.ndarray, lng: np.ndarray, alt: np.ndarray) -> np.ndarray:
    """Earth-centred, Earth-fixed coordinates (metres, (N, 3)) of WGS84 latitude/longitude (degrees) and
    ellipsoidal height (metres)."""
    phi, lam = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lng, float))
    alt = np.asarray(alt, float)
    n = WGS84_A / np.sqrt(1 - WGS84_E2 * np.sin(phi) ** 2)  # prime vertical radius of curvature
    return np.stack([(n + alt) * np.cos(phi) * np.cos(lam), (n + alt) * np.cos(phi) * np.sin(lam),
                     (n * (1 - WGS84_E2) + alt) * np.sin(phi)], -1)


def enu_rotation(lat0: float, lng0: float) -> np.ndarray:
    """The rotation taking ECEF offsets to East-North-Up at (lat0, lng0): rows are east, north, up."""
    phi, lam = math.radians(lat0), math.radians(lng0)
    return np.array([[-math.sin(lam), math.cos(lam), 0.0],
                     [-math.sin(phi) * math.cos(lam), -math.sin(phi) * math.sin(lam), math.cos(phi)],
                     [math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)]])


def to_enu(lat, lng, alt, origin: dict[str, float]) -> np.ndarray:
    """(N, 3) east, north, up in metres of the given positions, in the local tangent plane at `origin`
    ({lat, lng, alt})."""
    ref = ecef(origin["lat"], origin["lng"], origin["alt"])
    offsets = ecef(np.atleast_1d(lat), np.atleast_1d(lng), np.atleast_1d(alt)) - ref
    return offsets @ enu_rotation(origin["lat"], origin["lng"]).T


def fit_similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    """The 4x4 similarity `target_from_source` (scale x rotation, then translation) that best maps the rows
    of `source` onto `target` in the least-squares sense (COLMAP's estimator); None when the points do not
    determine one (fewer than three, or all on a line)."""
    import pycolmap

    sim = pycolmap.estimate_sim3d(np.asarray(source, float), np.asarray(target, float))
    if sim is None:
        return None
    out = np.eye(4)
    out[:3, :] = sim.matrix()
    return out


def register(frames: list[dict[str, Any]], gps_by_name: dict[str, dict[str, float]]) -> dict[str, Any]:
    """{"geo": {...}} for a model whose registered `frames` (reconstruction.summarise's: name and
    world_from_camera) can be placed by their GPS fixes, else {"geo_reason": why not}."""
    used = [(f, gps_by_name[f["name"]]) for f in frames if gps_by_name.get(f["name"])]
    if len(used) < MIN_FRAMES:
        return {"geo_reason": f"{len(used)} of the {len(frames)} posed frames carry a GPS position "
                              f"({MIN_FRAMES} needed to place the model)"}
    lats = np.array([g["lat"] for _, g in used])
    # Longitudes taken relative to the first: a capture across the antimeridian stays one cluster.
    lng_first = used[0][1]["lng"]
    lngs = np.array([lng_first + (g["lng"] - lng_first + 180) % 360 - 180 for _, g in used])
    with_alt = all("alt" in g for _, g in used)
    alts = np.array([g["alt"] for _, g in used]) if with_alt else np.zeros(len(used))
    origin = {"lat": float(lats.mean()), "lng": float((lngs.mean() + 180) % 360 - 180), "alt": float(alts.mean())}
    enu = to_enu(lats, lngs, alts, {**origin, "lng": float(lngs.mean())})
    centred = enu - enu.mean(0)
    axes = np.linalg.svd(centred / math.sqrt(len(enu)), compute_uv=False)  # RMS extent along each principal axis
    widest = float(np.linalg.norm(enu[:, None] - enu[None], axis=-1).max())
    if widest < MIN_SPREAD_M:
        return {"geo_reason": f"the frames' GPS positions lie within {widest:.2f} m of each other "
                              f"({MIN_SPREAD_M:g} m needed to place the model)"}
    if axes[1] < MIN_WIDTH_RATIO * axes[0]:
        return {"geo_reason": "the frames' GPS positions lie along one line, which leaves the model's rotation "
                              "about it undetermined"}
    centres = np.array([np.asarray(f["world_from_camera"], float)[:3, 3] for f, _ in used])
    enu_from_model = fit_similarity(centres, enu)
    if enu_from_model is None:
        return {"geo_reason": "the posed frames' camera centres do not determine a transform (all on one line)"}
    placed = centres @ enu_from_model[:3, :3].T + enu_from_model[:3, 3]
    rms = float(np.sqrt(((placed - enu) ** 2).sum(1).mean()))
    spread = float(np.sqrt((axes ** 2).sum()))  # RMS distance of the positions from their centroid
    if rms > MAX_RMS_RATIO * spread:
        return {"geo_reason": f"the camera poses do not match the frames' GPS positions (RMS residual "
                              f"{rms:.2f} m over a spread of {spread:.2f} m)"}
    return {"geo": {
        "origin": origin, "enu_from_model": [float(v) for v in enu_from_model.ravel()],
        "scale": float(np.cbrt(np.linalg.det(enu_from_model[:3, :3]))), "rms_m": round(rms, 4),
        "spread_m": round(spread, 4), "frames": len(used), "altitude": with_alt,
    }}

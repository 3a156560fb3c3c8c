"""A capture's focus_area (a latitude/longitude box with a buffer in metres) as a crop of its splat.

It applies only to a geo-registered model (`reconstruction.geo`: the model-to-East-North-Up similarity,
pipeline/georegistration.py). The box's four corners are taken to ENU metres at the model's origin and the
crop is their bounding rectangle in east/north, widened by the buffer on every side: for the few hundred
metres a capture covers, a latitude/longitude box is a rectangle in the tangent plane to well under a
centimetre, and the bounding rectangle never cuts off what lies inside the box. Height is not bounded (a
box on a map says nothing about it).

The trainer applies the crop twice: to the sparse points it starts from (no Gaussians are spent outside
the area) and to the trained Gaussians before they are written (densification may have spread some out).
A box that holds none of them is not applied at all: a capture is never cropped to nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from omnidrop.pipeline.georegistration import to_enu
from omnidrop.pipeline.training.options import FocusArea
from omnidrop.pipeline.training.writers import Splat


def crop_mask(points: np.ndarray, enu_from_model: np.ndarray, bounds: tuple[float, float, float, float]) -> np.ndarray:
    """Which of the (N, 3) model-frame `points` lie, once in ENU, inside `bounds` (min east, min north, max east,
    max north, metres, edges included); height is not bounded."""
    m = np.asarray(enu_from_model, float).reshape(4, 4)
    enu = np.asarray(points, float).reshape(-1, 3) @ m[:3, :3].T + m[:3, 3]
    min_e, min_n, max_e, max_n = bounds
    return (enu[:, 0] >= min_e) & (enu[:, 0] <= max_e) & (enu[:, 1] >= min_n) & (enu[:, 1] <= max_n)


@dataclass(frozen=True)
class FocusCrop:
    """A focus area placed in a model: picklable plain values (it travels to the training child)."""

    enu_from_model: tuple[float, ...]  # 16 values, row-major
    bounds: tuple[float, float, float, float]  # min east, min north, max east, max north (metres, buffer included)

    def mask(self, points: np.ndarray) -> np.ndarray:
        return crop_mask(points, np.array(self.enu_from_model), self.bounds)


def focus_crop(area: FocusArea, geo: dict[str, Any]) -> FocusCrop:
    """The crop of `area` in the model that `geo` (reconstruction.geo) places on the Earth."""
    origin = geo["origin"]
    lats = [area.min_lat, area.min_lat, area.max_lat, area.max_lat]
    lngs = [area.min_lng, area.max_lng, area.min_lng, area.max_lng]
    corners = to_enu(lats, lngs, [origin["alt"]] * 4, origin)
    buffer = max(0.0, area.buffer_meters)
    bounds = (float(corners[:, 0].min() - buffer), float(corners[:, 1].min() - buffer),
              float(corners[:, 0].max() + buffer), float(corners[:, 1].max() + buffer))
    return FocusCrop(tuple(float(v) for v in geo["enu_from_model"]), bounds)


def crop_points(points: np.ndarray, colours: np.ndarray, crop: FocusCrop | None):
    """(points, colours, the crop still to apply): the sparse points inside the crop; all of them, and no
    crop, when it holds none (the box misses the model)."""
    if crop is None:
        return points, colours, None
    keep = crop.mask(points)
    if not keep.any():
        return points, colours, None
    return points[keep], colours[keep], crop


def crop_splat(splat: Splat, crop: FocusCrop | None, missed: bool = False) -> tuple[Splat, dict[str, Any] | None]:
    """(the Gaussians inside the crop, what was done: {"applied", "kept", "of"}); uncropped, with
    `applied` False, when the crop holds none of them or was dropped already (`missed`)."""
    if crop is None:
        return splat, ({"applied": False, "kept": len(splat), "of": len(splat)} if missed else None)
    keep = crop.mask(splat.means)
    if not keep.any():
        return splat, {"applied": False, "kept": len(splat), "of": len(splat)}
    arrays = (splat.means, splat.scales, splat.quats, splat.opacities, splat.sh0, splat.shN)
    return Splat(*(a[keep] for a in arrays)), {"applied": True, "kept": int(keep.sum()), "of": len(splat)}

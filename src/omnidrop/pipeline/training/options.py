"""A capture's `training_parameters` mapped onto the trainer's options.

The defaults follow gsplat's `simple_trainer` (30 000 steps, SH degree 3 raised one band every 1 000
steps, its DefaultStrategy for densification, every 8th view held out for evaluation). Of the Captures
API's parameters only `focus_area` exists: a latitude/longitude box (or polylines) with a buffer in
metres. The box crops the splat (pipeline/training/focus.py) when the capture's model is geo-registered
(enough of its photos carried GPS positions: pipeline/georegistration.py); otherwise, and for polylines,
the area is recorded with the reason it was not applied, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_STEPS = 30_000


@dataclass(frozen=True)
class FocusArea:
    min_lat: float
    min_lng: float
    max_lat: float
    max_lng: float
    buffer_meters: float = 0.0
    crop_method: str | None = None


@dataclass(frozen=True)
class TrainOptions:
    steps: int = DEFAULT_STEPS
    sh_degree: int = 3
    sh_degree_interval: int = 1000
    test_every: int = 8  # every n-th registered view is held out (never trained on) and scored by PSNR
    ssim_lambda: float = 0.2
    init_opacity: float = 0.1
    init_scale: float = 1.0
    # DefaultStrategy (densification), gsplat's defaults scaled to `steps` when fewer than 30 000 are asked.
    refine_start_iter: int = 500
    refine_stop_iter: int = 15_000
    reset_every: int = 3000
    refine_every: int = 100
    focus_area: FocusArea | None = None
    notes: list[str] = field(default_factory=list)
    # The turntable video rendered after training (pipeline/training/turntable.py): one full turn in
    # `turntable_frames` frames (0: none) at `turntable_fps`, its short side at most `turntable_short_side`.
    turntable_frames: int = 120
    turntable_fps: int = 30
    turntable_short_side: int = 720

    def strategy_kwargs(self) -> dict[str, Any]:
        return {"refine_start_iter": self.refine_start_iter, "refine_stop_iter": self.refine_stop_iter,
                "reset_every": self.reset_every, "refine_every": self.refine_every}


def training_options(parameters: dict[str, Any] | None, steps: int = DEFAULT_STEPS,
                     turntable_frames: int = 120) -> TrainOptions:
    """`training_parameters` as stored with the capture (None, or {"focus_area": {...}}); `steps` and
    `turntable_frames` (0: no turntable video) come from the server's settings."""
    if steps < 1:
        raise ValueError("splat training needs at least one step")
    if turntable_frames < 0:
        raise ValueError("the turntable video's frame count cannot be negative")
    scale = min(1.0, steps / DEFAULT_STEPS)  # a shorter run densifies over the same share of its steps
    notes: list[str] = []
    focus = None
    area = (parameters or {}).get("focus_area")
    if area:
        bounds = [area.get(k) for k in ("min_lat", "min_lng", "max_lat", "max_lng")]
        if all(v is not None for v in bounds):
            min_lat, min_lng, max_lat, max_lng = bounds
            if min_lat > max_lat or min_lng > max_lng:
                raise ValueError("focus_area: min_lat/min_lng must not exceed max_lat/max_lng")
            focus = FocusArea(min_lat, min_lng, max_lat, max_lng, float(area.get("buffer_meters") or 0.0),
                              area.get("crop_method"))
            if area.get("polylines"):
                notes.append("focus_area polylines are not applied: the min/max latitude-longitude box is")
        elif area.get("polylines"):
            notes.append("focus_area polylines are not applied: only a min/max latitude-longitude box is")
        else:
            notes.append("focus_area has no complete min/max latitude-longitude box: not applied")
    return TrainOptions(
        steps=steps,
        refine_start_iter=max(1, round(500 * scale)), refine_stop_iter=max(1, round(15_000 * scale)),
        reset_every=max(1, round(3000 * scale)), refine_every=max(1, round(100 * scale)),
        sh_degree_interval=max(1, round(1000 * scale)), focus_area=focus, notes=notes,
        turntable_frames=turntable_frames,
    )


def focus_note(options: TrainOptions, focus: dict[str, Any] | None = None, geo_reason: str | None = None) -> str | None:
    """What became of the focus area box (recorded with the splat): `focus` is the trainer's account of the
    crop ({"applied", "kept", "of"}; None when no crop was tried), `geo_reason` why the model has no place
    on the Earth."""
    area = options.focus_area
    if area is None:
        return None
    buffer = f" (buffer {area.buffer_meters:g} m)"
    if focus is None:
        why = f" ({geo_reason})" if geo_reason else ""
        return ("focus_area not applied: the capture's model is not geo-registered" + why +
                ", so a latitude/longitude box has no place in it")
    if not focus["applied"]:
        return (f"focus_area not applied: the box{buffer} holds none of the model, so all {focus['of']} "
                "Gaussians were kept rather than none")
    return (f"focus_area applied: kept {focus['kept']} of {focus['of']} Gaussians whose east/north position lies "
            f"in the box{buffer}; height is not bounded")

"""The configured detector, loaded once per process (model loading costs far more than a frame)."""

from __future__ import annotations

import threading
from pathlib import Path

from omnidrop.pipeline.masks.detector import Detector
from omnidrop.settings import Settings

_cache: dict[tuple, Detector] = {}
_lock = threading.Lock()


def configured_detector(settings: Settings) -> Detector | None:
    """None when no model is configured: frames are then made without masks."""
    if settings.damage_model_path is None:
        return None
    path = Path(settings.damage_model_path)
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, tuple(settings.damage_model_classes),
           settings.damage_score_threshold)
    with _lock:
        if key not in _cache:
            from omnidrop.pipeline.masks.onnx_detector import OnnxDetector

            _cache[key] = OnnxDetector(path, settings.damage_model_classes, settings.damage_score_threshold)
        return _cache[key]

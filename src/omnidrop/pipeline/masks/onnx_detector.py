"""Damage detection with an instance-segmentation model run by ONNX Runtime (CPU).

No vehicle-damage weights can ship with omnidrop (see research/media.md §5), so the model is the
operator's file (OMNIDROP_DAMAGE_MODEL_PATH), exported to this contract:

- input: one float32 tensor `[1, 3, H, W]`, RGB scaled to 0..1, then `(x - mean) / std` when the
  sidecar gives them. Fixed H and W are honoured by resizing the frame; dynamic ones take the frame
  as it is.
- outputs, by name: `scores` `[N]`, `labels` `[N]` (integer class indices) and `masks` `[N, h, w]`
  or `[N, 1, h, w]` (per-instance probabilities; any h, w: they are scaled to the frame). A leading
  batch axis of 1 is accepted on each.
- class names: `<model>.json` beside the model (`{"classes": [...], "mean": [...], "std": [...],
  "mask_threshold": 0.5}`), else OMNIDROP_DAMAGE_MODEL_CLASSES, else `class_<n>`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from omnidrop.pipeline.masks.contours import polygons
from omnidrop.pipeline.masks.detector import Detection

OUTPUTS = ("scores", "labels", "masks")


class ModelError(Exception):
    """The configured file is not a model this detector can run."""


@dataclass(frozen=True)
class ModelConfig:
    classes: tuple[str, ...] = ()
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    mask_threshold: float = 0.5

    @classmethod
    def beside(cls, model: Path, classes: list[str]) -> ModelConfig:
        sidecar = model.with_suffix(".json")
        data = json.loads(sidecar.read_text()) if sidecar.exists() else {}
        return cls(
            classes=tuple(data.get("classes") or classes),
            mean=tuple(data.get("mean", cls.mean)),
            std=tuple(data.get("std", cls.std)),
            mask_threshold=float(data.get("mask_threshold", cls.mask_threshold)),
        )


class OnnxDetector:
    def __init__(self, model: Path, classes: list[str] | None = None, score_threshold: float = 0.5) -> None:
        import onnxruntime  # imported here: only servers with a model pay for it

        self.config = ModelConfig.beside(Path(model), classes or [])
        self.score_threshold = score_threshold
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        try:
            self.session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelError(f"cannot load {model}: {exc}") from exc
        (self.input,) = self.session.get_inputs()
        names = {o.name for o in self.session.get_outputs()}
        if missing := [n for n in OUTPUTS if n not in names]:
            raise ModelError(f"{model} lacks the outputs {missing} (has {sorted(names)})")

    def _size(self, image: Image.Image) -> tuple[int, int]:
        _, _, h, w = self.input.shape
        return (w, h) if isinstance(w, int) and isinstance(h, int) else image.size

    def detect(self, image: Image.Image) -> list[Detection]:
        width, height = image.size
        size = self._size(image)
        pixels = np.asarray(image.convert("RGB").resize(size, Image.Resampling.BILINEAR), dtype=np.float32) / 255.0
        pixels = (pixels - np.array(self.config.mean, np.float32)) / np.array(self.config.std, np.float32)
        tensor = pixels.transpose(2, 0, 1)[None].astype(np.float32)
        scores, labels, masks = self.session.run(list(OUTPUTS), {self.input.name: tensor})
        scores, labels = np.asarray(scores).reshape(-1), np.asarray(labels).reshape(-1).astype(int)
        masks = np.asarray(masks)
        while masks.ndim > 3:  # drop a leading batch axis of 1, then a channel axis of 1
            masks = masks[0] if masks.shape[0] == 1 and masks.shape[1] == len(scores) else masks[:, 0]
        found = []
        for score, label, mask in zip(scores, labels, masks):
            if score < self.score_threshold:
                continue
            rings = polygons(mask >= self.config.mask_threshold, width / mask.shape[1], height / mask.shape[0])
            if rings:
                found.append(Detection(self._name(label), float(score), rings))
        return found

    def _name(self, label: int) -> str:
        classes = self.config.classes
        return classes[label] if 0 <= label < len(classes) else f"class_{label}"

"""What a damage detector gives for one frame: instances with a class, a score and polygons.

Polygons are in frame pixels, each a closed ring `[[x, y], …]` (first point not repeated). The same
shape comes from the ONNX detector and from masks imported over the API, so overlays and JSON do
not care where a mask was made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from PIL import Image

Ring = list[list[float]]


@dataclass(frozen=True)
class Detection:
    label: str
    score: float
    polygons: list[Ring]

    def to_json(self) -> dict:
        return {"class": self.label, "score": round(self.score, 4), "polygons": self.polygons}

    @classmethod
    def from_json(cls, data: dict) -> Detection:
        return cls(str(data["class"]), float(data.get("score", 1.0)), [[list(p) for p in r] for r in data["polygons"]])


class Detector(Protocol):
    def detect(self, image: Image.Image) -> list[Detection]:
        """Instances found on an RGB frame."""

"""Damage masks made elsewhere, imported onto a processed video's frames (polygons per frame)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from omnidrop.db.engine import Database
from omnidrop.db.models import VehicleVideo
from omnidrop.pipeline.masks.detector import Detection
from omnidrop.pipeline.masks.records import IMPORTED, save_masks
from omnidrop.storage.base import BlobStore
from omnidrop.vehicles.errors import InvalidMasks
from omnidrop.vehicles.service import frame_keys


@dataclass(frozen=True)
class FrameMasks:
    frame: str  # e.g. frame_0001.jpg
    detections: list[Detection]


async def import_masks(db: Database, store: BlobStore, video: VehicleVideo, masks_prefix: str,
                       frames: list[FrameMasks], quality: int) -> int:
    """Render and store every frame's masks; an imported frame replaces what the detector found."""
    known = {key.rsplit("/", 1)[-1]: key for key in frame_keys(video)}
    if unknown := sorted({f.frame for f in frames} - set(known)):
        raise InvalidMasks(f"job {video.job_id} has no frames {', '.join(unknown[:5])}", frames=unknown)
    for item in frames:
        data = b"".join([block async for block in store.read(known[item.frame])])
        image = Image.open(io.BytesIO(data)).convert("RGB")
        await save_masks(db, store, video.id, masks_prefix, item.frame, image, item.detections, IMPORTED, quality)
    return len(frames)

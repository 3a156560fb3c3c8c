"""Saving one frame's masks: the overlay JPEG and the polygons JSON in the blob store, a row upserted.

Names follow from the video and the frame, so a re-run (or a re-import) overwrites the same blobs
and the same row.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import PurePosixPath

from PIL import Image
from sqlalchemy import select

from omnidrop.db.engine import Database
from omnidrop.db.models import VehicleMask
from omnidrop.db.types import utcnow
from omnidrop.pipeline.blobs import put_bytes
from omnidrop.pipeline.masks.detector import Detection
from omnidrop.pipeline.masks.overlay import render
from omnidrop.storage.base import BlobStore

DETECTOR, IMPORTED = "detector", "imported"


def mask_keys(masks_prefix: str, frame: str) -> tuple[str, str]:
    stem = PurePosixPath(frame).stem
    return f"{masks_prefix}/{frame}", f"{masks_prefix}/{stem}.json"


async def save_masks(db: Database, store: BlobStore, video_id: str, masks_prefix: str, frame: str,
                     image: Image.Image, detections: list[Detection], source: str, quality: int = 90) -> None:
    overlay_key, json_key = mask_keys(masks_prefix, frame)
    jpeg = await asyncio.to_thread(render, image, detections, quality)
    polygons = [d.to_json() for d in detections]
    document = {"frame": frame, "width": image.width, "height": image.height, "source": source,
                "detections": polygons}
    await put_bytes(store, overlay_key, jpeg)
    await put_bytes(store, json_key, json.dumps(document, separators=(",", ":")).encode())
    async with db.write() as s:
        row = (await s.execute(
            select(VehicleMask).where(VehicleMask.video_id == video_id, VehicleMask.frame == frame)
        )).scalar_one_or_none()
        if row is None:
            row = VehicleMask(video_id=video_id, frame=frame)
            s.add(row)
        row.source, row.detections, row.overlay_key, row.json_key = source, polygons, overlay_key, json_key
        row.created_at = utcnow()

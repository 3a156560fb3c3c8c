"""Mask frames: the frame with a translucent fill per class, an outline and a label per instance."""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageDraw, ImageFont

from omnidrop.pipeline.masks.detector import Detection

FILL_ALPHA = 102  # 0.4: the damage stays visible through its colour
OUTLINE = 3
# Fixed colours for the usual damage classes (CarDD's six); others get one derived from their name.
PALETTE = {
    "dent": (230, 57, 70), "scratch": (255, 183, 3), "crack": (131, 56, 236),
    "glass_shatter": (58, 134, 255), "glass shatter": (58, 134, 255), "lamp_broken": (251, 86, 7),
    "lamp broken": (251, 86, 7), "tire_flat": (6, 214, 160), "tire flat": (6, 214, 160),
}


def colour(label: str) -> tuple[int, int, int]:
    if label.lower() in PALETTE:
        return PALETTE[label.lower()]
    digest = hashlib.sha256(label.encode()).digest()
    return 64 + digest[0] % 192, 64 + digest[1] % 192, 64 + digest[2] % 192


def render(frame: Image.Image, detections: list[Detection], quality: int = 90) -> bytes:
    """The composited mask frame as JPEG bytes (the same frame when nothing was found)."""
    base = frame.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = ImageFont.load_default(size=max(12, base.height // 40))
    for det in detections:
        rgb = colour(det.label)
        for ring in det.polygons:
            points = [tuple(p) for p in ring]
            if len(points) >= 3:
                draw.polygon(points, fill=(*rgb, FILL_ALPHA), outline=(*rgb, 255), width=OUTLINE)
            else:
                draw.line(points + points[:1], fill=(*rgb, 255), width=OUTLINE)
        _label(draw, font, det, rgb)
    out = io.BytesIO()
    Image.alpha_composite(base, layer).convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def _label(draw: ImageDraw.ImageDraw, font, det: Detection, rgb: tuple[int, int, int]) -> None:
    points = [p for ring in det.polygons for p in ring]
    if not points:
        return
    x, y = min(p[0] for p in points), min(p[1] for p in points)
    text = f"{det.label} {det.score:.2f}"
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    y = max(0, y - (bottom - top) - 4)
    draw.rectangle((x, y, x + right - left + 6, y + bottom - top + 4), fill=(*rgb, 220))
    draw.text((x + 3 - left, y + 2 - top), text, fill=(255, 255, 255, 255), font=font)

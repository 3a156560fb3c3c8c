"""A still preview and a small animated GIF made from a sequence of frames (Pillow).

The GIF is bounded by construction and then by measurement: at most GIF_FRAMES frames, evenly
picked from the sequence, each at most GIF_MAX_EDGE pixels on its longest edge; if the encoded
file is still above ``max_bytes`` it is encoded again with fewer, smaller frames.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageOps

PREVIEW_MAX_EDGE = 1024
PREVIEW_QUALITY = 85
GIF_FRAMES = 48
GIF_MAX_EDGE = 320
GIF_LOOP_SECONDS = 4.0  # one pass over the picked frames, whatever their number
GIF_MIN_FRAME_MS = 60  # browsers clamp shorter delays anyway


class PreviewError(Exception):
    """Nothing to make a preview from (no frames, or frames Pillow cannot read)."""


def pick_evenly(items: Sequence, count: int) -> list:
    """``count`` items spread evenly over ``items`` (all of them when there are fewer)."""
    if count >= len(items):
        return list(items)
    if count == 1:
        return [items[len(items) // 2]]
    return [items[round(k * (len(items) - 1) / (count - 1))] for k in range(count)]


def _fitted(path: Path, max_edge: int) -> Image.Image:
    with Image.open(path) as im:
        im.draft("RGB", (max_edge, max_edge))  # JPEG decodes at 1/2..1/8 scale when that is enough
        im = ImageOps.exif_transpose(im).convert("RGB")
        im.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
        return im


def make_preview(frames: Sequence[Path], max_edge: int = PREVIEW_MAX_EDGE) -> bytes:
    """A JPEG of the middle frame, its longest edge at most ``max_edge``."""
    if not frames:
        raise PreviewError("no frames to make a preview from")
    out = io.BytesIO()
    _fitted(frames[len(frames) // 2], max_edge).save(out, "JPEG", quality=PREVIEW_QUALITY, optimize=True)
    return out.getvalue()


def make_gif(frames: Sequence[Path], max_bytes: int, count: int = GIF_FRAMES, max_edge: int = GIF_MAX_EDGE) -> bytes:
    """An endlessly looping GIF of up to ``count`` frames, no larger than ``max_bytes``."""
    if not frames:
        raise PreviewError("no frames to make a GIF from")
    while True:
        data = _encode_gif(pick_evenly(frames, count), max_edge)
        if len(data) <= max_bytes:
            return data
        if count <= 2 and max_edge <= 64:
            raise PreviewError(f"even a 2-frame 64 px GIF is {len(data)} bytes, above the {max_bytes} byte cap")
        count, max_edge = max(2, count // 2), max(64, int(max_edge * 0.75))


def _encode_gif(frames: Sequence[Path], max_edge: int) -> bytes:
    images = [_fitted(p, max_edge) for p in frames]
    # All frames at the size of the first (a capture's frames share one size; photos may not).
    size = images[0].size
    images = [im if im.size == size else ImageOps.pad(im, size) for im in images]
    # One adaptive palette per frame; no dithering keeps the LZW runs long, so the file small.
    paletted = [im.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) for im in images]
    delay = max(GIF_MIN_FRAME_MS, int(1000 * GIF_LOOP_SECONDS / len(paletted)))
    out = io.BytesIO()
    paletted[0].save(out, "GIF", save_all=True, append_images=paletted[1:], duration=delay, loop=0, optimize=True,
                     disposal=1)
    return out.getvalue()

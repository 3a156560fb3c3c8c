"""JPEG thumbnails of images, upright and in RGB, decoded at reduced size when possible."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from omnidrop.pipeline.classify import pillow_formats

DEFAULT_MAX_EDGE = 512
DEFAULT_QUALITY = 85


class ThumbnailError(Exception):
    """The file is not an image Pillow can decode (or it is beyond Pillow's pixel limit)."""


def make_thumbnail(src: Path, max_edge: int = DEFAULT_MAX_EDGE, quality: int = DEFAULT_QUALITY) -> bytes:
    """JPEG bytes of src scaled so its longest edge is at most max_edge (never upscaled)."""
    try:
        with Image.open(src, formats=pillow_formats()) as im:
            # JPEG can decode at 1/2, 1/4 or 1/8 scale: ask for the smallest scale that still
            # covers the target, so a 100-megapixel panorama never lands in memory in full.
            im.draft("RGB", _fit(im.size, max_edge))
            icc = im.info.get("icc_profile")
            im = ImageOps.exif_transpose(im)
            im.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
            rgb = _to_rgb(im)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise ThumbnailError(f"cannot make a thumbnail of {Path(src).name}: {exc}") from exc
    out = io.BytesIO()
    # Keep an RGB ICC profile so wide-gamut (Display P3, Adobe RGB) photos keep their colours;
    # a CMYK or grey profile would be wrong on the converted pixels. Bytes 16-20: colour space.
    keep_icc = icc if icc and icc[16:20] == b"RGB " else None
    rgb.save(out, "JPEG", quality=quality, optimize=True, icc_profile=keep_icc)
    return out.getvalue()


def write_thumbnail(src: Path, dest: Path, max_edge: int = DEFAULT_MAX_EDGE, quality: int = DEFAULT_QUALITY) -> Path:
    """Write the thumbnail atomically: readers see the old file or the whole new one."""
    data = make_thumbnail(src, max_edge, quality)
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    return dest


def _fit(size: tuple[int, int], max_edge: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, max_edge / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        # JPEG has no alpha: flatten on white rather than letting transparent pixels go black.
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits instead of clipping everything above 255 to white.
        return im.point(lambda v: v / 256).convert("L").convert("RGB")
    return im.convert("RGB")

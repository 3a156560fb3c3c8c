"""Turn a folder of unpacked files into JPEG frames: keep only real images (by content), in the order
of their paths in the archive, named frame_0001.jpg ...

A JPEG that is already upright RGB is kept byte for byte (its EXIF, GPS included, is what later
pose estimation wants); anything else (PNG, TIFF, WebP, rotated or CMYK JPEGs ...) is decoded,
turned upright, flattened to RGB and written as a JPEG. The re-encoded JPEG carries no EXIF, so each
frame's GPS fix (lat, lng, alt when present) is read from the original and kept with the frame: it is
what places the capture's model on the Earth (pipeline/georegistration.py).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from omnidrop.pipeline.archive import UnpackedFile
from omnidrop.pipeline.classify import Kind, classify, pillow_formats
from omnidrop.pipeline.media.exif import gps as exif_gps
from omnidrop.pipeline.media.naming import frame_name
from omnidrop.pipeline.thumbnails import _to_rgb

_ORIENTATION = 0x0112


@dataclass(frozen=True)
class ImageFrame:
    name: str  # frame_0001.jpg
    source: str  # the entry's path in the archive
    width: int
    height: int
    gps: dict[str, float] | None = None  # {"lat", "lng"[, "alt"]} from the original's EXIF


@dataclass(frozen=True)
class ImageFrames:
    frames: tuple[ImageFrame, ...]
    skipped: tuple[str, ...]  # archive entries that were not usable images


def _natural_key(text: str) -> list:
    """img2.jpg before img10.jpg, as a file browser sorts them."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def frames_from_files(files: Iterable[UnpackedFile], dest: Path, quality: int = 90) -> ImageFrames:
    frames: list[ImageFrame] = []
    skipped: list[str] = []
    for item in sorted(files, key=lambda f: _natural_key(f.source)):
        kind = classify(item.path, item.source)
        if kind.kind != Kind.IMAGE or kind.details.get("too_large") or kind.details.get("decodable") is False:
            skipped.append(item.source)
            continue
        name = frame_name(len(frames) + 1)
        try:
            width, height, where = _write_jpeg(item.path, dest / name, quality)
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
            skipped.append(item.source)  # the header looked like an image, the pixels did not decode
            (dest / name).unlink(missing_ok=True)
            continue
        frames.append(ImageFrame(name, item.source, width, height, where))
    return ImageFrames(tuple(frames), tuple(skipped))


def _position(im: Image.Image) -> dict[str, float] | None:
    """The original's GPS fix: position only (a heading says where the camera looked, not where it was)."""
    try:
        where = exif_gps(im.getexif())
    except (ValueError, TypeError, OSError, SyntaxError):  # a broken EXIF block: no fix, the pixels are fine
        return None
    return {k: v for k, v in where.items() if k in ("lat", "lng", "alt")} if where else None


def _write_jpeg(src: Path, dest: Path, quality: int) -> tuple[int, int, dict[str, float] | None]:
    with Image.open(src, formats=pillow_formats()) as im:
        im.load()  # decode every pixel now: a truncated image fails here, not in a viewer later
        where = _position(im)
        if im.format == "JPEG" and im.mode == "RGB" and im.getexif().get(_ORIENTATION, 1) == 1:
            shutil.copyfile(src, dest)
            return (*im.size, where)
        icc = im.info.get("icc_profile")
        upright = _to_rgb(ImageOps.exif_transpose(im))
        keep_icc = icc if icc and icc[16:20] == b"RGB " else None  # a CMYK profile would be wrong now
        upright.save(dest, "JPEG", quality=quality, icc_profile=keep_icc)
        return (*upright.size, where)

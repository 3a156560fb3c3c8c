"""Equirectangular JPEGs with the EXIF a 360 camera writes: GPS position, heading and capture time."""

from __future__ import annotations

import io
from fractions import Fraction

from PIL import Image, ImageDraw


def _dms(value: float) -> tuple[Fraction, Fraction, Fraction]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = Fraction(round((value - degrees - minutes / 60) * 3600 * 10000), 10000)
    return Fraction(degrees), Fraction(minutes), seconds


def pano_jpeg(colour: tuple[int, int, int], *, gps: tuple[float, float] | None = None, taken: str | None = None,
              heading: float | None = None, size: tuple[int, int] = (1024, 512), label: str = "") -> bytes:
    """A 2:1 JPEG: a coloured sky over a grey floor with a label, plus the EXIF asked for.
    `taken` is EXIF's form, e.g. "2026:05:01 10:00:00"."""
    im = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, size[1] * 2 // 3, size[0], size[1]), fill=(90, 90, 90))
    for x in range(0, size[0], size[0] // 8):  # vertical stripes, so the view shows it moved
        draw.rectangle((x, size[1] // 3, x + 8, size[1] * 2 // 3), fill=(255, 255, 255))
    if label:
        draw.text((size[0] // 2, size[1] // 2), label, fill=(0, 0, 0))
    exif = Image.Exif()
    if gps is not None:
        lat, lng = gps
        ifd = {1: "N" if lat >= 0 else "S", 2: _dms(lat), 3: "E" if lng >= 0 else "W", 4: _dms(lng),
               5: b"\x00", 6: Fraction(12)}
        if heading is not None:
            ifd[16], ifd[17] = "T", Fraction(round(heading * 100), 100)
        exif[0x8825] = ifd
    if taken is not None:
        exif[0x8769] = {0x9003: taken}
    out = io.BytesIO()
    im.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()

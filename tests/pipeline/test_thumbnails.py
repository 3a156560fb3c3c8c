"""Thumbnails: size, orientation, colour modes, and reduced-size JPEG decoding."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms

from omnidrop.pipeline import thumbnails
from omnidrop.pipeline.thumbnails import ThumbnailError, make_thumbnail, write_thumbnail


def _open(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    assert im.format == "JPEG" and im.mode == "RGB"
    return im


def _close(pixel, expected, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def test_large_jpeg_is_decoded_at_reduced_size(tmp_path, monkeypatch):
    src = tmp_path / "pano.jpg"
    Image.new("RGB", (4000, 2000), (20, 120, 220)).save(src, quality=90)
    decoded_sizes = []
    real_transpose = thumbnails.ImageOps.exif_transpose

    def spy(im):
        decoded_sizes.append(im.size)
        return real_transpose(im)

    monkeypatch.setattr(thumbnails.ImageOps, "exif_transpose", spy)
    thumb = _open(make_thumbnail(src))
    assert thumb.size == (512, 256)
    assert _close(thumb.getpixel((10, 10)), (20, 120, 220), 8)
    # Image.draft picked the 1/4 JPEG scale: 1000x500 was decoded, never 4000x2000.
    assert decoded_sizes == [(1000, 500)]


def test_exif_orientation_is_applied(tmp_path):
    src = tmp_path / "rotated.jpg"
    im = Image.new("RGB", (800, 400), "red")
    im.paste((0, 0, 255), (400, 0, 800, 400))  # right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise: the left half ends up on top
    im.save(src, exif=exif)
    thumb = _open(make_thumbnail(src, max_edge=100))
    assert thumb.size == (50, 100)
    assert _close(thumb.getpixel((25, 10)), (255, 0, 0))
    assert _close(thumb.getpixel((25, 90)), (0, 0, 255))
    assert thumb.getexif().get(0x0112) is None


def test_transparency_is_flattened_on_white(tmp_path):
    src = tmp_path / "mask.png"
    im = Image.new("RGBA", (64, 64), (255, 0, 0, 0))
    im.paste((0, 128, 0, 255), (32, 0, 64, 64))
    im.save(src)
    thumb = _open(make_thumbnail(src))
    assert thumb.size == (64, 64)  # never upscaled
    assert _close(thumb.getpixel((5, 5)), (255, 255, 255), 8)
    assert _close(thumb.getpixel((60, 5)), (0, 128, 0), 8)


def test_sixteen_bit_greyscale_is_scaled_not_clipped(tmp_path):
    src = tmp_path / "depth.png"
    Image.new("I;16", (300, 100), 32768).save(src)
    thumb = _open(make_thumbnail(src, max_edge=150))
    assert thumb.size == (150, 50)
    assert _close(thumb.getpixel((5, 5)), (128, 128, 128), 3)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    src = tmp_path / "print.jpg"
    cmyk_profile = bytes(16) + b"CMYK" + bytes(108)  # an ICC header naming its colour space
    Image.new("CMYK", (1200, 600), (0, 255, 0, 0)).save(src, icc_profile=cmyk_profile)
    thumb = _open(make_thumbnail(src))
    assert thumb.size == (512, 256)
    assert _close(thumb.getpixel((5, 5)), (255, 0, 255))
    assert "icc_profile" not in thumb.info  # the CMYK profile does not describe RGB pixels


def test_icc_profile_is_kept(tmp_path):
    src = tmp_path / "p3.jpg"
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("RGB", (600, 300), "teal").save(src, icc_profile=profile)
    assert _open(make_thumbnail(src)).info.get("icc_profile") == profile


def test_write_thumbnail_replaces_atomically(tmp_path):
    src = tmp_path / "a.webp"
    Image.new("RGB", (1024, 256), "yellow").save(src)
    dest = tmp_path / "thumb.jpg"
    dest.write_bytes(b"old")
    assert write_thumbnail(src, dest, max_edge=128) == dest
    assert _open(dest.read_bytes()).size == (128, 32)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.webp", "thumb.jpg"]


def test_only_photo_formats_are_decoded(tmp_path):
    # EPS would be rendered by Ghostscript: not something to run on uploads.
    src = tmp_path / "drawing.eps"
    src.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    with pytest.raises(ThumbnailError, match="cannot identify"):
        make_thumbnail(src)


def test_non_image_is_a_clear_error(tmp_path):
    src = tmp_path / "notes.jpg"
    src.write_bytes(b"not an image at all")
    with pytest.raises(ThumbnailError, match="notes.jpg"):
        make_thumbnail(src)
    truncated = tmp_path / "cut.png"
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), "red").save(buf, "PNG")
    truncated.write_bytes(buf.getvalue()[:60])
    with pytest.raises(ThumbnailError):
        make_thumbnail(truncated)

"""HEIC photos, as iPhones shoot them, are decoded wherever photos are opened: classified with their
size, turned into capture frames and given project thumbnails, instead of being skipped."""

from __future__ import annotations

import io
from pathlib import Path

import pillow_heif
from PIL import Image

from omnidrop.pipeline.archive import UnpackedFile
from omnidrop.pipeline.classify import Kind, classify
from omnidrop.pipeline.image_frames import frames_from_files
from omnidrop.pipeline.thumbnails import make_thumbnail

RED, BLUE = (220, 30, 30), (30, 40, 220)


def heic(path: Path, size=(96, 48)) -> Path:
    """Encoded by pillow-heif directly (its Pillow opener is not registered by this)."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    pillow_heif.from_pillow(image).save(path, quality=95)
    assert path.read_bytes()[4:12] == b"ftypheic"
    return path


def close(pixel, expected, tolerance=30) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected))


def test_a_heic_is_classified_with_its_size(tmp_path):
    found = classify(heic(tmp_path / "IMG_0001.HEIC"))
    assert (found.kind, found.mime) == (Kind.IMAGE, "image/heic")
    assert found.details.get("decodable") is not False
    assert (found.details["width"], found.details["height"]) == (96, 48) and found.details["format"] == "heic"
    assert found.details["equirectangular"]  # 2:1, the sign of a stitched 360 photo


def test_heic_photos_become_capture_frames(tmp_path):
    path = heic(tmp_path / "a.heic")
    dest = tmp_path / "frames"
    dest.mkdir()
    found = frames_from_files([UnpackedFile(path.name, path, "photos/IMG_0001.HEIC", path.stat().st_size)], dest)
    assert found.skipped == () and [f.source for f in found.frames] == ["photos/IMG_0001.HEIC"]
    with Image.open(dest / found.frames[0].name) as frame:
        assert frame.format == "JPEG" and frame.size == (96, 48)
        assert close(frame.getpixel((10, 24)), RED) and close(frame.getpixel((86, 24)), BLUE)


def test_heic_photos_get_a_thumbnail(tmp_path):
    jpeg = make_thumbnail(heic(tmp_path / "b.heic"), 32)
    with Image.open(io.BytesIO(jpeg)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == 32
        assert close(thumb.getpixel((2, 8)), RED) and close(thumb.getpixel((29, 8)), BLUE)

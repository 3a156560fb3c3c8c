"""Only real images become frames, in natural path order; upright RGB JPEGs are kept byte for byte."""

import io

from PIL import Image

from omnidrop.pipeline.archive import UnpackedFile
from omnidrop.pipeline.image_frames import frames_from_files
from tests.support.captures import jpeg


def files(tmp_path, entries: dict[str, bytes]) -> list[UnpackedFile]:
    src = tmp_path / "src"
    src.mkdir()
    out = []
    for i, (name, data) in enumerate(entries.items()):
        path = src / f"f{i}"
        path.write_bytes(data)
        out.append(UnpackedFile(path.name, path, name, len(data)))
    return out


def encoded(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def test_frames_keep_jpegs_and_normalise_the_rest(tmp_path):
    plain = jpeg((10, 20, 30))
    cmyk = encoded(Image.new("CMYK", (40, 30), (0, 255, 255, 0)), "JPEG")  # red in CMYK
    grey16 = encoded(Image.new("I;16", (20, 10), 40000), "PNG")
    truncated = jpeg((1, 2, 3))[:200]
    dest = tmp_path / "frames"
    dest.mkdir()
    found = frames_from_files(files(tmp_path, {
        "b/p10.jpg": plain, "b/p9.png": grey16, "a.jpg": cmyk, "c/cut.jpg": truncated, "d.txt": b"text",
    }), dest)
    assert [(f.source, f.name) for f in found.frames] == [
        ("a.jpg", "frame_0001.jpg"), ("b/p9.png", "frame_0002.jpg"), ("b/p10.jpg", "frame_0003.jpg")]
    assert sorted(found.skipped) == ["c/cut.jpg", "d.txt"]
    assert (dest / "frame_0003.jpg").read_bytes() == plain  # copied, EXIF and all
    red = Image.open(dest / "frame_0001.jpg")
    assert red.mode == "RGB" and red.getpixel((5, 5))[0] > 200 and red.getpixel((5, 5))[1] < 60
    grey = Image.open(dest / "frame_0002.jpg")
    assert grey.mode == "RGB" and 140 < grey.getpixel((5, 5))[0] < 170  # 40000/65535 of white, not clipped
    assert sorted(p.name for p in dest.iterdir()) == ["frame_0001.jpg", "frame_0002.jpg", "frame_0003.jpg"]


def test_frames_keep_the_originals_gps_even_when_re_encoded(tmp_path):
    """The position comes from the original's EXIF: a rotated JPEG and a PNG are re-encoded without it."""
    from tests.support.geotag import gps_exif

    def tagged(fmt: str, lat: float, lng: float, alt: float | None, rotated: bool = False) -> bytes:
        exif = gps_exif(lat, lng, alt)
        if rotated:
            exif[0x0112] = 6
        out = io.BytesIO()
        Image.new("RGB", (40, 30), (200, 30, 30)).save(out, fmt, exif=exif)
        return out.getvalue()

    dest = tmp_path / "frames"
    dest.mkdir()
    found = frames_from_files(files(tmp_path, {
        "1.jpg": tagged("JPEG", 48.1371, 11.5754, 520.25),  # copied byte for byte
        "2.jpg": tagged("JPEG", -33.8568, 151.2153, None, rotated=True),  # turned upright: re-encoded
        "3.png": tagged("PNG", 40.6892, -74.0445, -2.5),  # re-encoded
        "4.jpg": jpeg((1, 2, 3)),  # no fix
    }), dest)
    assert [f.gps for f in found.frames] == [
        {"lat": 48.1371, "lng": 11.5754, "alt": 520.25}, {"lat": -33.8568, "lng": 151.2153},
        {"lat": 40.6892, "lng": -74.0445, "alt": -2.5}, None]
    rotated = Image.open(dest / found.frames[1].name)
    assert rotated.size == (30, 40) and not rotated.getexif().get_ifd(0x8825)  # the re-encode lost the EXIF

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

"""Synthetic 360 walkthrough media, small enough to encode in milliseconds.

- dual fisheye: one stream, left lens red, right lens blue, so the panorama shows where each lands;
- a lens pair: Insta360's `_00_` (red) and `_10_` (blue) files, one lens each;
- equirectangular with Spherical Video V2 metadata, whose frames carry their own index;
- Insta360 GPS trailers and ISO 6709 location tags.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

from omnidrop.pipeline.media import insta360
from tests.pipeline.media.conftest import SAMPLE_ENTRY, index_image, insert_into_box, v2_boxes, write_video

__all__ = ["write_video"]  # re-exported for tests that need a plain clip

RED, BLUE = (220, 30, 30), (30, 30, 220)
RATE = 10
FISHEYE_SIZE = (256, 128)  # side by side: two 128x128 lenses
LENS_SIZE = (128, 128)
EQUIRECT_SIZE = (128, 64)


def dual_fisheye(path: Path, seconds: float = 2.0, size: tuple[int, int] = FISHEYE_SIZE, **kwargs) -> Path:
    w, h = size
    picture = Image.new("RGB", size, RED)
    picture.paste(BLUE, (w // 2, 0, w, h))
    return write_video(path, muxer="mp4", size=size, rate=RATE, frames=int(seconds * RATE),
                       image=lambda i: picture, **kwargs)


def lens(path: Path, colour: tuple[int, int, int], seconds: float = 2.0) -> Path:
    return write_video(path, muxer="mp4", size=LENS_SIZE, rate=RATE, frames=int(seconds * RATE),
                       image=lambda i: Image.new("RGB", LENS_SIZE, colour))


def lens_pair(folder: Path, seconds: float = 2.0) -> tuple[Path, Path]:
    return (lens(folder / "VID_20260120_123130_00_001.insv", RED, seconds),
            lens(folder / "VID_20260120_123130_10_001.insv", BLUE, seconds))


def equirect(path: Path, seconds: float = 3.0, **kwargs) -> Path:
    """2:1 frames showing their own index (read back with `read_index`), tagged equirectangular (V2)."""
    write_video(path, muxer="mp4", size=EQUIRECT_SIZE, rate=RATE, frames=int(seconds * RATE),
                image=lambda i: index_image(i, EQUIRECT_SIZE), **kwargs)
    return insert_into_box(path, SAMPLE_ENTRY, v2_boxes(b"equi"))


def with_gps_trailer(path: Path, fixes: list[tuple[float, float, float]], lead: bytes = b"") -> Path:
    """Append an Insta360 trailer with a GPS record of (unix time, lat, lng) fixes.

    ``lead`` goes first in the trailer, as another record would: bytes such as a box header
    that points far past the end test that the probe does not read the trailer as boxes."""
    records = ([(3, lead)] if lead else []) + [(insta360.GPS_RECORD, insta360.gps_record(fixes))]
    with open(path, "ab") as f:
        f.write(insta360.trailer(records))
    return path


def renamed_jpeg(path: Path) -> Path:
    """A JPEG named like an Insta360 video: refused by content."""
    Image.new("RGB", (64, 64), RED).save(path, "JPEG")
    return path


def copy(src: Path, dest: Path) -> Path:
    return Path(shutil.copy(src, dest))


def two_track(path: Path, seconds: float = 1.0) -> Path:
    """One file, a video track per lens (Insta360 X3/X4): red first, blue second."""
    import av

    with av.open(str(path), "w", format="mp4") as out:
        streams = []
        for _ in range(2):
            stream = out.add_stream("libx264", rate=RATE)
            stream.width, stream.height = LENS_SIZE
            stream.pix_fmt = "yuv420p"
            streams.append(stream)
        pictures = [av.VideoFrame.from_image(Image.new("RGB", LENS_SIZE, c)) for c in (RED, BLUE)]
        for i in range(int(seconds * RATE)):
            for stream, picture in zip(streams, pictures):
                frame = picture.reformat(format="yuv420p")
                frame.pts = i
                for packet in stream.encode(frame):
                    out.mux(packet)
        for stream in streams:
            for packet in stream.encode():
                out.mux(packet)
    return path

"""One decoded video frame to JPEG bytes: RGB with the right YUV matrix, a right-angle rotation, encoding.

Shared by frame extraction (frames.py) and panoramas (panoramas.py) so every JPEG omnidrop makes
from video gets the same colour handling. Conversion and encoding both release the GIL, which is
why one encoder may serve several worker threads.
"""

from __future__ import annotations

import io
import threading

import av
from av.video.reformatter import Colorspace, VideoReformatter
from PIL import Image

_AV_COLORSPACE_UNSPECIFIED = 2
# Degrees counter-clockwise -> the transpose that applies them; only right angles are lossless.
_TRANSPOSE = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, -90: Image.Transpose.ROTATE_270}
ROTATIONS = frozenset({0, *_TRANSPOSE})


class JpegEncoder:
    """RGB conversion + JPEG encoding of one frame; one swscale context per worker thread."""

    def __init__(self, quality: int, rotation: int) -> None:
        self.quality = quality
        self.transpose = _TRANSPOSE.get(rotation)
        self.local = threading.local()

    def __call__(self, frame: av.VideoFrame) -> bytes:
        reformatter = getattr(self.local, "reformatter", None)
        if reformatter is None:
            reformatter = self.local.reformatter = VideoReformatter()
        rgb = reformatter.reformat(frame, format="rgb24", src_colorspace=_source_matrix(frame), threads=1)
        plane = rgb.planes[0]
        # Wrap the plane without copying; Pillow keeps a reference to it.
        image = Image.frombuffer("RGB", (plane.width, plane.height), plane, "raw", "RGB", plane.line_size, 1)
        if self.transpose is not None:
            image = image.transpose(self.transpose)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=self.quality)
        return out.getvalue()


def _source_matrix(frame: av.VideoFrame) -> Colorspace | None:
    """The frame's own YUV matrix, or for untagged video the players' convention:
    BT.709 for HD, BT.601 below. (JPEG itself is full-range BT.601 YCbCr, which is why raw
    planes must never be handed to a JPEG encoder: the hue shifts.)"""
    if int(frame.colorspace) != _AV_COLORSPACE_UNSPECIFIED:
        return None  # None = use the frame's tag
    return Colorspace.ITU709 if frame.height >= 720 else Colorspace.ITU601

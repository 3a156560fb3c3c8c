"""Equirectangular panoramas at chosen times of a 360 video, as JPEGs.

Inputs (`Lens`: a file and which of its video streams):
- equirectangular video (spherical metadata): the frame as it is, scaled to 2:1 if it is not
  (stereo: the left eye's half);
- side-by-side dual fisheye in one stream (.insv of the ONE X era, about 2:1);
- one lens per stream: Insta360's two-file form (`_00_` and `_10_` files) or one file with a
  video track per lens (X3/X4). The two pictures are put side by side with `hstack`.
Fisheye goes through FFmpeg's v360 filter (`input=dfisheye:output=equirect`) in a PyAV filter
graph; the output is 2:1 at the lens height. As v360 maps it, the first lens (left half, `_00_`)
fills the outer quarters of the panorama and the second lens (`_10_`) its middle half. v360 has no
per-lens calibration (Insta360's is proprietary), so stitching seams are to be expected.

Only what is needed is decoded: for each time the reader seeks to the keyframe before it (unless
the time is a short decode ahead) and decodes up to the frame shown then, so a long walk costs a
few GOPs per panorama, not the whole video. The same input and times give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import av.filter

from omnidrop.pipeline.media.jpeg import JpegEncoder  # the BT.601/709-correct RGB + JPEG step
from omnidrop.pipeline.media.probe import open_container

EQUIRECT, DUAL_FISHEYE, LENS_PAIR = "equirectangular", "dual-fisheye", "lens-pair"
DEFAULT_FOV = 190.0  # degrees each lens sees; what the Insta360/GoPro community uses with v360
# Decoding forward beats seeking when the next time is this close (seconds).
SEEK_AHEAD_SECONDS = 2.0

Sink = Callable[[int, bytes], None]


class PanoramaError(Exception):
    """The video stopped decoding before a panorama's time (or gave no frame at all)."""


@dataclass(frozen=True)
class Lens:
    path: Path
    stream: int = 0  # index among the file's video streams


@dataclass(frozen=True)
class Layout:
    kind: str  # EQUIRECT, DUAL_FISHEYE or LENS_PAIR
    lenses: tuple[Lens, ...]  # one, or two for LENS_PAIR (first = left)
    fov: float = DEFAULT_FOV
    # Stereo equirectangular: keep the left eye, "top" (top-bottom) or "left" (left-right) half.
    eye: str | None = None


@dataclass(frozen=True)
class Panorama:
    index: int
    time: float  # requested, seconds from the video's start
    frame_time: float  # of the frame used
    width: int
    height: int


class _Reader:
    """Frames of one video stream at increasing times, seeking only when that is cheaper."""

    def __init__(self, lens: Lens) -> None:
        self.container = open_container(lens.path)
        streams = [s for s in self.container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
        if lens.stream >= len(streams):
            self.container.close()
            raise PanoramaError(f"{lens.path.name} has no video stream #{lens.stream}")
        self.stream = streams[lens.stream]
        self.stream.thread_type = "AUTO"
        self.tb = self.stream.time_base
        self.start = self.stream.start_time or 0
        rate = self.stream.average_rate or self.stream.guessed_rate
        self.half_frame = 0.5 / float(rate) if rate else 0.02
        self.frames: Iterator[av.VideoFrame] | None = None
        self.last: av.VideoFrame | None = None
        self.last_time = 0.0

    def close(self) -> None:
        self.container.close()

    def at(self, t: float) -> tuple[av.VideoFrame, float]:
        """The frame shown at t (the first whose time is at least t - half a frame), or the last one."""
        if self.last is not None and abs(self.last_time - t) <= self.half_frame:
            return self.last, self.last_time
        if self.frames is None or self.last is None or self.last_time > t or t - self.last_time > SEEK_AHEAD_SECONDS:
            self.container.seek(self.start + int(Fraction(t).limit_denominator(1_000_000) / self.tb),
                                stream=self.stream, backward=True)
            self.frames = self.container.decode(self.stream)
            self.last = None
        try:
            for frame in self.frames:
                ts = frame.pts if frame.pts is not None else frame.dts
                if ts is None:
                    continue
                self.last, self.last_time = frame, float((ts - self.start) * self.tb)
                if self.last_time >= t - self.half_frame:
                    return self.last, self.last_time
        except av.error.FFmpegError as exc:
            raise PanoramaError(f"decoding stopped near {t:.2f} s ({exc})") from exc
        if self.last is None:
            raise PanoramaError(f"no frame decodes at or before {t:.2f} s")
        return self.last, self.last_time  # t is past the last frame: the last frame it is


class _Equirect:
    """The filter graph from the lens frame(s) to one 2:1 equirectangular frame; built on first use."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.graph: av.filter.Graph | None = None
        self.sources: list = []
        self.sink = None
        self.size = (0, 0)
        self.count = 0

    def _build(self, frames: Sequence[av.VideoFrame]) -> None:
        graph = av.filter.Graph()
        self.sources = [graph.add_buffer(width=f.width, height=f.height, format=f.format.name,
                                         time_base=Fraction(1, 1000)) for f in frames]
        kind, eye = self.layout.kind, self.layout.eye
        height = (frames[0].height // 2 if eye == "top" else frames[0].height) // 2 * 2
        width = 2 * height
        if kind == EQUIRECT:
            crop = {"top": ["crop", "w=iw:h=ih/2:x=0:y=0"], "left": ["crop", "w=iw/2:h=ih:x=0:y=0"]}.get(eye or "")
            chain = ([graph.add(*crop)] if crop else []) + [graph.add("scale", f"w={width}:h={height}")]
        else:
            fov = self.layout.fov
            v360 = graph.add("v360", f"input=dfisheye:output=equirect:ih_fov={fov}:iv_fov={fov}"
                                     f":w={width}:h={height}:interp=linear")
            chain = ([graph.add("hstack", "inputs=2")] if kind == LENS_PAIR else []) + [v360]
        self.sink = graph.add("buffersink")
        for filt, nxt in zip(chain, chain[1:] + [self.sink]):
            filt.link_to(nxt)
        for n, source in enumerate(self.sources):
            source.link_to(chain[0], 0, n)
        graph.configure()
        self.graph, self.size = graph, (width, height)

    def __call__(self, frames: Sequence[av.VideoFrame]) -> av.VideoFrame:
        first = frames[0]
        if self.layout.kind == EQUIRECT and self.layout.eye is None and first.width == 2 * first.height:
            return first  # already what the viewer wants
        if self.graph is None:
            self._build(frames)
        for source, frame in zip(self.sources, frames):
            frame.pts, frame.time_base = self.count, Fraction(1, 1000)  # inputs of hstack must line up
            source.push(frame)
        self.count += 1
        return self.sink.pull()


def render(layout: Layout, times: Sequence[float], sink: Sink, *, quality: int = 90,
           progress: Callable[[float], None] | None = None) -> list[Panorama]:
    """One JPEG panorama per time, in order; ``sink(index, jpeg)`` receives each as it is made."""
    readers = []
    try:
        for lens in layout.lenses:
            readers.append(_Reader(lens))
        convert = _Equirect(layout)
        encode = JpegEncoder(quality, 0)
        made = []
        for index, t in enumerate(times):
            picked = [reader.at(t) for reader in readers]
            try:
                out = convert([frame for frame, _ in picked])
            except (av.error.FFmpegError, ValueError) as exc:
                raise PanoramaError(f"the lens pictures do not fit together at {t:.2f} s ({exc})") from exc
            sink(index, encode(out))
            made.append(Panorama(index, t, picked[0][1], out.width, out.height))
            if progress:
                progress((index + 1) / len(times))
        return made
    finally:
        for reader in readers:
            reader.close()

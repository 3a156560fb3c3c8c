"""What a walkthrough's videos are, by content: which lens layout, how long, and what GPS they carry.

One video: equirectangular when its spherical metadata says so (no conversion); a video stream per
lens when it has two (Insta360 X3/X4); else side-by-side dual fisheye when it is about 2:1
(the .insv of the ONE X era). Two videos: Insta360's lens pair, told apart by `_00_` and `_10_` in
their names. Low-resolution proxies (`LRV_…`, `_11_`) linked alongside are skipped. Every file is
validated by the probe first (an .insv is an MP4 inside; its name is never trusted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import av

from omnidrop.pipeline.media import gps
from omnidrop.pipeline.media.panoramas import DUAL_FISHEYE, EQUIRECT, LENS_PAIR, Layout, Lens
from omnidrop.pipeline.media.probe import VideoInfo, VideoRejected, open_container, probe, video_stream

_FIRST_LENS = re.compile(r"_00_\d+")
_SECOND_LENS = re.compile(r"_10_\d+")
_PROXY = re.compile(r"(^|/)LRV_|_11_\d+")
_DUAL_FISHEYE_ASPECT = (1.8, 2.2)


class UnusableWalk(Exception):
    """The videos cannot make a walkthrough; ``code`` is stable, ``reason`` is for people."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class WalkVideo:
    name: str  # the title or URL it was linked with
    path: Path


@dataclass(frozen=True)
class WalkInput:
    layout: Layout
    duration: float  # seconds; the shorter lens for a pair
    fps: float
    frame_count: int
    gps: gps.GpsTrack

    @property
    def last_frame_time(self) -> float:
        return max(0.0, self.duration - 1.0 / self.fps) if self.fps > 0 else 0.0


def _probe(video: WalkVideo) -> VideoInfo:
    try:
        return probe(video.path)
    except VideoRejected as exc:
        raise UnusableWalk(exc.code, f"{video.name}: {exc.reason}") from None


def _video_streams(path: Path) -> int:
    with open_container(path) as container:
        video_stream(container)
        return sum(1 for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic)


def _track(path: Path, duration: float) -> gps.GpsTrack:
    with open_container(path) as container:
        meta = dict(container.metadata)
        stream_meta = dict(video_stream(container).metadata)
    return gps.read_track(path, meta, stream_meta, duration)


def _single(video: WalkVideo, fov: float) -> WalkInput:
    info = _probe(video)
    if info.spherical is not None and info.spherical.projection == "equirectangular":
        eye = {"top-bottom": "top", "left-right": "left"}.get(info.spherical.stereo)
        layout = Layout(EQUIRECT, (Lens(video.path),), eye=eye)
    elif _video_streams(video.path) >= 2:
        layout = Layout(LENS_PAIR, (Lens(video.path, 0), Lens(video.path, 1)), fov)
    elif _DUAL_FISHEYE_ASPECT[0] <= info.coded_width / info.coded_height <= _DUAL_FISHEYE_ASPECT[1]:
        layout = Layout(DUAL_FISHEYE, (Lens(video.path),), fov)
    else:
        projection = info.spherical.projection if info.spherical else "none declared"
        raise UnusableWalk("not_360", f"{video.name}: {info.width}x{info.height} with projection {projection} "
                           "is neither equirectangular (spherical metadata), side-by-side dual fisheye (2:1) "
                           "nor one lens per video track")
    return WalkInput(layout, info.duration, info.fps, info.frame_count, _track(video.path, info.duration))


def _pair(first: WalkVideo, second: WalkVideo, fov: float) -> WalkInput:
    a, b = _probe(first), _probe(second)
    if (a.coded_width, a.coded_height) != (b.coded_width, b.coded_height):
        raise UnusableWalk("lens_mismatch", f"the lenses differ in size: {first.name} is "
                           f"{a.coded_width}x{a.coded_height}, {second.name} {b.coded_width}x{b.coded_height}")
    duration = min(a.duration, b.duration)
    layout = Layout(LENS_PAIR, (Lens(first.path), Lens(second.path)), fov)
    return WalkInput(layout, duration, a.fps, min(a.frame_count, b.frame_count), _track(first.path, duration))


def inspect(videos: list[WalkVideo], fov: float) -> WalkInput:
    """Validate the linked videos and work out how they make one 360 walk."""
    usable = [v for v in videos if not _PROXY.search(v.name)] or videos
    if len(usable) == 1:
        return _single(usable[0], fov)
    if len(usable) == 2:
        first = [v for v in usable if _FIRST_LENS.search(v.name)]
        second = [v for v in usable if _SECOND_LENS.search(v.name)]
        if len(first) == 1 and len(second) == 1 and first[0] is not second[0]:
            return _pair(first[0], second[0], fov)
    names = ", ".join(v.name for v in usable)
    raise UnusableWalk("unsupported_layout", f"{len(usable)} videos ({names}): a walkthrough is one 360 video "
                       "or an Insta360 lens pair named …_00_… and …_10_…")


def points_count(requested: int, walk: WalkInput, interval: float, max_points: int) -> int:
    """`target_points_count`, or one point per ``interval`` seconds when it is 0; never more points
    than the video has frames, nor more than ``max_points``."""
    wanted = requested if requested > 0 else int(walk.duration // interval) + 1
    return max(1, min(wanted, max(1, walk.frame_count), max_points))

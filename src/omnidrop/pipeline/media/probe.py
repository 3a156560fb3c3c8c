"""Probe and validate an uploaded video by its content, never by its name.

Gates, cheapest first:
1. the magic bytes must start one of the allowed containers, so a renamed JPEG, an HLS
   playlist or an ffconcat script never reaches FFmpeg's own format guessing;
2. the container's own size fields must fit in the file (a cut-off upload fails here);
3. FFmpeg opens it with a demuxer allow-list and the ``file`` protocol only, so nothing in
   the file can make it read another file or a URL;
4. the first video stream must use an allowed codec, fit the limits, decode its first frame,
   and have packets up to its declared end.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import av.error

from omnidrop.pipeline.media import insta360, spherical
from omnidrop.pipeline.media.ffmpeg_input import open_local
from omnidrop.pipeline.rejected import Rejected
from omnidrop.pipeline.media.spherical import SphericalInfo

# FFmpeg demuxer names (a demuxer matches when any of its comma-separated names is listed).
FORMAT_WHITELIST = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,asf,flv"
ALLOWED_CODECS = frozenset(
    {"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "prores", "mjpeg", "wmv1", "wmv2", "wmv3", "vc1", "flv1"}
)

_ASF_HEADER = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_ASF_TOP_LEVEL = {  # header, data, simple index, index objects
    _ASF_HEADER,
    bytes.fromhex("3626b2758e66cf11a6d900aa0062ce6c"),
    bytes.fromhex("90080033b1e5cf1189f400a0c90349cb"),
    bytes.fromhex("d329e2d6da35d111903400a0c90349be"),
}
_EBML_HEADER = 0x1A45DFA3
_EBML_SEGMENT = 0x18538067
# Well-known non-video signatures, only to explain a refusal clearly.
_OTHER_MAGIC = (
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"#EXTM3U", "an HLS playlist"),
    (b"ffconcat", "an ffconcat script"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
)
_FAMILY_LABEL = {"iso-bmff": "MP4/MOV", "matroska": "Matroska/WebM", "avi": "AVI", "asf": "ASF/WMV", "flv": "FLV"}


class VideoRejected(Rejected):
    """The upload is not a video we accept; ``code`` is stable, ``reason`` is for humans."""


@dataclass(frozen=True)
class VideoLimits:
    min_width: int = 64
    min_height: int = 64
    max_width: int = 8192  # 8K 360 cameras record 7680x3840
    max_height: int = 8192
    min_duration: float = 0.1  # seconds
    max_duration: float = 3 * 3600.0
    min_fps: float = 1.0
    max_fps: float = 240.0
    # Truncated when the packets end before this share of the declared duration.
    min_complete: float = 0.95


@dataclass(frozen=True)
class AudioStream:
    codec: str
    channels: int
    sample_rate: int


@dataclass(frozen=True)
class ColorInfo:
    pixel_format: str
    range: str  # "tv" (limited), "pc" (full) or "unknown"
    matrix: str  # e.g. "bt709", "bt470bg", "unknown"
    primaries: str
    transfer: str
    bit_depth: int


@dataclass(frozen=True)
class VideoInfo:
    container: str  # mp4, mov, matroska, webm, avi, asf, flv
    codec: str
    width: int  # as displayed, after rotation
    height: int
    rotation: int  # degrees counter-clockwise to turn the coded picture for display
    fps: float
    duration: float  # seconds
    frame_count: int  # exact when the container counts frames, else duration x fps
    bitrate: int | None  # bits per second over the whole file
    audio: tuple[AudioStream, ...]
    color: ColorInfo
    spherical: SphericalInfo | None
    coded_width: int
    coded_height: int


def sniff(head: bytes) -> str | None:
    """Container family from the first bytes, or None when it is none we accept."""
    if spherical.looks_like_bmff(head):
        return "iso-bmff"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(_ASF_HEADER):
        return "asf"
    if head[:4] == b"FLV\x01":
        return "flv"
    return None


def _describe(head: bytes) -> str:
    for magic, what in _OTHER_MAGIC:
        if head.startswith(magic):
            return what
    return "not a recognised video container"


def open_container(path: str | Path) -> av.container.InputContainer:
    """av.open restricted to the allowed demuxers and to local files (no URLs, no playlists)."""
    return open_local(path, lambda why: VideoRejected(f"FFmpeg cannot open it as an allowed container ({why})",
                                                      "unsupported_format"), allowed=FORMAT_WHITELIST)


def video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    """The first real video stream (cover art is stored as a one-frame 'attached picture')."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    raise VideoRejected("the file has no video stream", "no_video")


def probe(path: str | Path, limits: VideoLimits = VideoLimits()) -> VideoInfo:
    """Validate ``path`` and describe it; raise VideoRejected with a reason otherwise."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(64)
        family = sniff(head)
        if family is None:
            raise VideoRejected(f"content is {_describe(head)}, not an allowed video", "unsupported_format")
        label = _FAMILY_LABEL[family]
        problem = _STRUCTURE_CHECKS[family](f, path.stat().st_size)
    if problem:
        raise VideoRejected(f"truncated {label} file: {problem}", "truncated")

    try:
        container = open_container(path)
    except VideoRejected as exc:  # the magic was right, so the body is what is broken
        raise VideoRejected(f"damaged {label} file ({exc.reason})", "corrupt") from exc
    with container:
        stream = video_stream(container)
        codec = stream.codec_context.codec.canonical_name
        if codec not in ALLOWED_CODECS:
            raise VideoRejected(f"video codec {codec!r} is not accepted", "unsupported_codec")
        _check_resolution(stream.codec_context.width, stream.codec_context.height, limits)  # before any decode
        first = _first_frame(container, stream)
        declared = declared_duration(container, stream)
        packets = None
        if declared is None:
            declared, packets = measure_video(container, stream)
        else:
            _check_complete(container, stream, declared, limits)
        duration = declared
        info = _describe_stream(path, family, head, container, stream, codec, first, duration, packets)
    _check_timing(info, limits)
    return info


def _first_frame(container, stream) -> av.VideoFrame:
    try:
        for frame in container.decode(stream):
            return frame
    except av.error.FFmpegError as exc:
        raise VideoRejected(f"the first video frame does not decode ({exc})", "corrupt") from exc
    raise VideoRejected("the video stream has no frames", "corrupt")


def declared_duration(container, stream) -> float | None:
    """Seconds the headers claim: the video stream's own figure, else the whole file's."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None  # live-recorded WebM (browsers' MediaRecorder) declares none


def measure_video(container, stream) -> tuple[float, int]:
    """Duration and packet count of the video stream, demuxing (not decoding) all of it."""
    container.seek(stream.start_time or 0, stream=stream, backward=True)
    end, count = _packet_end(container.demux(stream), stream.start_time or 0, stream.time_base)
    return end, count


def _check_complete(container, stream, declared: float, limits: VideoLimits) -> None:
    """Demux the last seconds: packets must reach the declared end, or the file was cut.

    A stream's own duration is checked against its packets; the file's duration (the
    longest stream's) against the packets of every stream.
    """
    own = bool(stream.duration)
    tb = stream.time_base
    start = stream.start_time or 0
    try:
        container.seek(start + int(max(0.0, declared - 3.0) / tb), stream=stream, backward=True)
    except av.error.FFmpegError:
        pass  # no index to seek with: read on from where the first frame left off
    if own:
        end, _ = _packet_end(container.demux(stream), start, tb)
    else:
        end, _ = _packet_end(container.demux(), container.start_time or 0, Fraction(1, av.time_base))
    if end < declared * limits.min_complete:
        raise VideoRejected(
            f"video data stops at {end:.2f} s of a declared {declared:.2f} s: the file is cut off", "truncated"
        )


def _packet_end(packets, start: int, time_base: Fraction) -> tuple[float, int]:
    """(latest pts + duration, in seconds after ``start`` given in ``time_base``; packet count)."""
    end: Fraction | None = None
    count = 0
    try:
        for packet in packets:
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is None:
                continue  # the flush packet at EOF
            count += 1
            stop = (ts + (packet.duration or 0)) * packet.time_base
            end = stop if end is None or stop > end else end
    except av.error.FFmpegError as exc:
        raise VideoRejected(f"the file is cut off or damaged near its end ({exc})", "truncated") from exc
    if end is None:
        raise VideoRejected("no video packets where the video should end: the file is cut off", "truncated")
    return float(end - start * time_base), count


def _container_name(family: str, head: bytes) -> str:
    if family == "iso-bmff":
        return "mp4" if head[4:8] == b"ftyp" and head[8:12] != b"qt  " else "mov"
    if family == "matroska":
        return "webm" if b"webm" in head else "matroska"
    return family


def _describe_stream(path, family, head, container, stream, codec, first, duration, packets) -> VideoInfo:
    ctx = stream.codec_context
    rotation = int(first.rotation or 0) % 360
    rotation = rotation - 360 if rotation > 180 else rotation
    width, height = (ctx.height, ctx.width) if abs(rotation) == 90 else (ctx.width, ctx.height)

    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    if stream.frames > 0:
        frames = stream.frames
    elif packets is not None:
        frames = packets
    else:
        frames = math.floor(duration * fps + 0.5)
    bitrate = container.bit_rate or ctx.bit_rate or (path.stat().st_size * 8 / duration if duration else None)

    audio = tuple(
        AudioStream(a.codec_context.codec.canonical_name, a.layout.nb_channels, a.sample_rate)
        for a in container.streams.audio
    )
    return VideoInfo(
        container=_container_name(family, head),
        codec=codec,
        width=width,
        height=height,
        rotation=rotation,
        fps=fps,
        duration=duration,
        frame_count=int(frames),
        bitrate=int(bitrate) if bitrate else None,
        audio=audio,
        color=_color(first),
        spherical=spherical.detect(path, first),
        coded_width=ctx.width,
        coded_height=ctx.height,
    )


# The values FFmpeg's colour enums take in practice (libavutil/pixfmt.h); 2 is "unspecified".
_MATRICES = {0: "rgb", 1: "bt709", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 9: "bt2020nc", 10: "bt2020c"}
_PRIMARIES = {1: "bt709", 5: "bt470bg", 6: "smpte170m", 9: "bt2020", 11: "smpte431", 12: "smpte432"}
_TRANSFERS = {1: "bt709", 6: "smpte170m", 8: "linear", 13: "iec61966-2-1", 16: "smpte2084", 18: "arib-std-b67"}


def _color(frame) -> ColorInfo:
    fmt = frame.format
    return ColorInfo(
        pixel_format=fmt.name,
        range={1: "tv", 2: "pc"}.get(int(frame.color_range), "unknown"),
        matrix=_MATRICES.get(int(frame.colorspace), "unknown"),
        primaries=_PRIMARIES.get(int(frame.color_primaries), "unknown"),
        transfer=_TRANSFERS.get(int(frame.color_trc), "unknown"),
        bit_depth=max((c.bits for c in fmt.components), default=8),
    )


def _check_resolution(w: int, h: int, limits: VideoLimits) -> None:
    if not (limits.min_width <= w <= limits.max_width and limits.min_height <= h <= limits.max_height):
        raise VideoRejected(
            f"resolution {w}x{h} is outside {limits.min_width}x{limits.min_height}"
            f"..{limits.max_width}x{limits.max_height}",
            "resolution_out_of_range",
        )


def _check_timing(info: VideoInfo, limits: VideoLimits) -> None:
    if not limits.min_duration <= info.duration <= limits.max_duration:
        raise VideoRejected(
            f"duration {info.duration:.2f} s is outside {limits.min_duration}..{limits.max_duration} s",
            "duration_out_of_range",
        )
    if not limits.min_fps <= info.fps <= limits.max_fps:
        raise VideoRejected(
            f"frame rate {info.fps:.3f} fps is outside {limits.min_fps}..{limits.max_fps}", "frame_rate_out_of_range"
        )


# --- container size fields versus the file size -------------------------------------------
# Each check returns a description of the first structure that runs past the end of the file,
# or None. Bytes after the last structure that do not parse as one are tolerated: cameras
# append vendor trailers (Insta360 puts its telemetry after the last MP4 box).


def _bmff_overrun(f: BinaryIO, size: int) -> str | None:
    size -= insta360.trailer_size(f, size)  # the .insv telemetry trailer is no box: do not parse it as one
    try:
        for _ in spherical.iter_boxes(f, 0, size):
            pass
    except spherical.BoxError as exc:
        if exc.kind is not None and all(0x20 < c < 0x7F for c in exc.kind):
            return str(exc)
    return None


def _riff_overrun(f: BinaryIO, size: int) -> str | None:
    pos = 0
    while pos + 12 <= size:  # RIFF 'AVI ' then, past 1 GiB, RIFF 'AVIX' (OpenDML)
        f.seek(pos)
        tag, length, form = struct.unpack("<4sI4s", f.read(12))
        if tag != b"RIFF" or form not in (b"AVI ", b"AVIX"):
            return None
        end = pos + 8 + length + (length & 1)
        if end > size:
            return f"RIFF chunk at {pos} declares {length} bytes, {size - pos - 8} available"
        pos = end
    return None


def _asf_overrun(f: BinaryIO, size: int) -> str | None:
    pos = 0
    while pos + 24 <= size:
        f.seek(pos)
        guid, length = struct.unpack("<16sQ", f.read(24))
        if guid not in _ASF_TOP_LEVEL or length < 24:
            return None
        if pos + length > size:
            return f"ASF object at {pos} declares {length} bytes, {size - pos} available"
        pos += length
    return None


def _ebml_vint(f: BinaryIO, keep_marker: bool) -> tuple[int, bool] | None:
    """One EBML variable-length integer: (value, all-ones 'unknown size' marker)."""
    first = f.read(1)
    if not first or first[0] == 0:
        return None
    length = 9 - first[0].bit_length()
    rest = f.read(length - 1)
    if len(rest) != length - 1:
        return None
    value = int.from_bytes(first + rest, "big")
    unknown = value == (1 << (7 * length + 1)) - 1  # marker bit + all value bits set
    return (value if keep_marker else value & ((1 << (7 * length)) - 1)), unknown


def _ebml_element(f: BinaryIO) -> tuple[int, int, bool] | None:
    ident = _ebml_vint(f, keep_marker=True)
    length = _ebml_vint(f, keep_marker=False)
    if ident is None or length is None:
        return None
    return ident[0], length[0], length[1]


def _matroska_overrun(f: BinaryIO, size: int) -> str | None:
    f.seek(0)
    header = _ebml_element(f)
    if header is None or header[0] != _EBML_HEADER:
        return None
    f.seek(header[1], 1)
    segment = _ebml_element(f)
    if segment is None or segment[0] != _EBML_SEGMENT or segment[2]:
        return None  # live recordings write an unknown segment size
    available = size - f.tell()
    if segment[1] > available:
        return f"Segment declares {segment[1]} bytes, {available} available"
    return None


def _flv_overrun(f: BinaryIO, size: int) -> str | None:
    return None  # FLV has no overall size field; the end-of-stream scan catches cut files


_STRUCTURE_CHECKS: dict[str, Callable[[BinaryIO, int], str | None]] = {
    "iso-bmff": _bmff_overrun,
    "avi": _riff_overrun,
    "asf": _asf_overrun,
    "matroska": _matroska_overrun,
    "flv": _flv_overrun,
}

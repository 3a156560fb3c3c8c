"""Extract still frames from a video as JPEGs, chosen by timestamp.

Two ways to choose:
- a rate (default 5 fps) with exactly the rule of FFmpeg's ``fps`` filter, so the count and
  the chosen frames match ``ffmpeg -i in.mp4 -vf fps=5 out_%04d.jpg``;
- ``count`` evenly spaced frames over the duration (spin views want e.g. 72 = 5° steps).

Speed: decoding dominates, so the decoder gets frame threads, and packets whose frame is
provably not chosen are sent with ``skip_frame=NONREF``: the decoder then drops them when
nothing else references them (typically most B-frames). Conversion to RGB and JPEG encoding
(both release the GIL) run on a worker thread while decoding continues.

Damage: a packet the decoder refuses (bit-rot in the middle of a file) is skipped, as the ffmpeg
CLI does, and decoding carries on with the next; every frame that decodes is delivered, and the
skipped stretches are reported in ``Extraction.corrupt``. Only a file that cannot be demuxed any
further stops the extraction (``FrameExtractionError``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error

from omnidrop.pipeline.media.jpeg import ROTATIONS, JpegEncoder
from omnidrop.pipeline.media.naming import frame_name
from omnidrop.pipeline.media.probe import declared_duration, measure_video, open_container, video_stream

Sink = Callable[[str, bytes], None]
Progress = Callable[[float], None]

DEFAULT_FPS = 5
_LOOKAHEAD = 16  # packets demuxed ahead, so a frame's successors are known before it decodes
_SPAN_GAP = 1.0  # refused packets closer than this (seconds) are reported as one stretch


class FrameExtractionError(Exception):
    """The video stopped decoding part-way; ``emitted`` frames had already reached the sink."""

    def __init__(self, message: str, emitted: int) -> None:
        super().__init__(message)
        self.emitted = emitted

    def __reduce__(self):  # pickled back from a child process (pipeline/child.py)
        return type(self), (str(self), self.emitted)


@dataclass(frozen=True)
class CorruptSpan:
    """Packets the decoder refused, from ``start`` to ``end`` seconds of the video."""

    start: float
    end: float
    packets: int

    def as_dict(self) -> dict:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "packets": self.packets}


@dataclass(frozen=True)
class Extraction:
    count: int
    names: tuple[str, ...]
    width: int  # of the JPEGs, after rotation
    height: int
    rotation: int  # degrees counter-clockwise that were applied
    decoded: int  # frames the decoder produced (fewer than the video has when B-frames were skipped)
    corrupt: tuple[CorruptSpan, ...] = ()  # what the decoder refused and was skipped

    @property
    def corrupt_packets(self) -> int:
        return sum(span.packets for span in self.corrupt)


def _round_half_away(x: Fraction) -> int:
    """av_rescale_q_rnd's AV_ROUND_NEAR_INF: halves round away from zero."""
    r = math.floor(abs(x) + Fraction(1, 2))
    return r if x >= 0 else -r


class _Slots(ABC):
    """Output slots filled in order: each frame fills the slots up to its successor's."""

    def __init__(self) -> None:
        self.next: int | None = None

    @abstractmethod
    def bucket(self, t: Fraction) -> int:
        """The slot index a frame shown at time t competes for."""

    @abstractmethod
    def start(self, t: Fraction) -> None:
        """Set the first slot from the first frame's time."""

    @abstractmethod
    def end_bucket(self, end: Fraction) -> int:
        """One past the last slot, given the end time of the last frame."""

    def copies_until(self, bucket: int) -> int:
        """How many slots the held frame fills before a frame of ``bucket`` replaces it."""
        assert self.next is not None
        n = max(0, bucket - self.next)
        self.next += n
        return n


class RateSelector(_Slots):
    """FFmpeg's fps filter (round=near): slot n shows the last frame whose round(t * rate)
    <= n; slots run from the first frame's slot up to round(end * rate), where end is the
    last frame's time plus its duration."""

    def __init__(self, rate: Fraction) -> None:
        super().__init__()
        self.rate = rate

    def bucket(self, t: Fraction) -> int:
        return _round_half_away(t * self.rate)

    def start(self, t: Fraction) -> None:
        self.next = self.bucket(t)

    def end_bucket(self, end: Fraction) -> int:
        return self.bucket(end)


class SpacedSelector(_Slots):
    """``count`` slots at origin + k * duration / count; slot k shows the last frame at or
    before its time, and slots before the first frame show the first frame."""

    def __init__(self, count: int, origin: Fraction, duration: Fraction) -> None:
        super().__init__()
        self.count = count
        self.origin = origin
        self.step = duration / count

    def bucket(self, t: Fraction) -> int:
        """Number of slot times strictly before t."""
        return min(self.count, max(0, math.ceil((t - self.origin) / self.step)))

    def start(self, t: Fraction) -> None:
        self.next = 0

    def end_bucket(self, end: Fraction) -> int:
        return self.count


# Decoders whose skip_frame=NONREF drops only frames nothing else references.
_NONREF_SAFE = {"h264", "vp8", "vp9", "mpeg4"}


def _nonref_skip_is_safe(ctx) -> bool:
    codec = ctx.codec.canonical_name
    if codec in _NONREF_SAFE:
        return True
    if codec == "hevc":
        # HEVC's "_N" pictures may still be referenced from higher temporal sub-layers, so
        # only a single-layer stream is safe; hvcC byte 21 carries numTemporalLayers.
        extra = ctx.extradata or b""
        return len(extra) > 21 and extra[0] == 1 and (extra[21] >> 3) & 0x7 == 1
    return False


def extract_frames(
    path: str | Path,
    sink: Sink,
    *,
    fps: float | Fraction = DEFAULT_FPS,
    count: int | None = None,
    quality: int = 90,
    progress: Progress | None = None,
    decode_threads: int = 0,
    encode_threads: int = 1,
    skip_unselected: bool = True,
) -> Extraction:
    """Decode ``path`` and hand each chosen frame to ``sink(name, jpeg_bytes)`` in order.

    ``fps`` selects like FFmpeg's fps filter; ``count`` (when given) selects that many evenly
    spaced frames instead. JPEGs are at source resolution with the display rotation applied.
    ``decode_threads`` 0 lets FFmpeg choose. The same input always yields the same names.
    """
    if count is not None and count < 1:
        raise ValueError("count must be at least 1")
    rate = Fraction(fps).limit_denominator(1_000_000)
    if rate <= 0:
        raise ValueError("fps must be positive")

    with open_container(path) as container:
        stream = video_stream(container)
        stream.thread_type = "AUTO"  # frame + slice threads; the default is slice only
        stream.codec_context.thread_count = decode_threads
        tb = stream.time_base
        # ffmpeg (without -copyts) measures time from the file's start.
        offset = Fraction(container.start_time or 0, av.time_base)
        duration = declared_duration(container, stream)
        if duration is None:  # nothing declared (live WebM): measure it, demuxing only
            duration, _ = measure_video(container, stream)
            container.seek(stream.start_time or 0, stream=stream, backward=True)
        selector: _Slots = RateSelector(rate)
        if count is not None:
            start = stream.start_time * tb - offset if stream.start_time is not None else Fraction(0)
            selector = SpacedSelector(count, start, Fraction(duration).limit_denominator(1_000_000))
        run = _Run(container, stream, selector, sink, quality, progress, duration, offset, encode_threads)
        return run.execute(skip_unselected)


class _Run:
    """One extraction: demux with lookahead, decode, select, encode in order."""

    def __init__(self, container, stream, selector, sink, quality, progress, duration, offset, encode_threads):
        self.container = container
        self.stream = stream
        self.selector = selector
        self.sink = sink
        self.quality = quality
        self.progress = progress
        self.duration = float(duration or 0)
        self.offset = offset
        self.tb = stream.time_base
        self.pool = ThreadPoolExecutor(max_workers=max(1, encode_threads), thread_name_prefix="jpeg")
        self.max_pending = max(1, encode_threads) + 2  # bounds memory: each holds a frame
        self.pending: deque[tuple[Future[bytes], int]] = deque()
        self.names: list[str] = []
        self.encoder: JpegEncoder | None = None
        self.size = (0, 0)
        self.rotation = 0
        self.held: av.VideoFrame | None = None  # the frame waiting for its successor
        self.held_time = Fraction(0)
        self.first_pts: int | None = None
        self.last_reported = -1.0
        self.decoded = 0
        self.corrupt: list[CorruptSpan] = []

    # -- decoding --------------------------------------------------------------------------
    def execute(self, skip_unselected: bool) -> Extraction:
        ctx = self.stream.codec_context
        skip_unselected = skip_unselected and _nonref_skip_is_safe(ctx)
        try:
            try:
                self._decode_all(ctx, skip_unselected)
            except av.error.FFmpegError as exc:
                self._drain(0)  # what was decoded still reaches the sink
                raise FrameExtractionError(f"decoding stopped: {exc}", len(self.names)) from exc
            self._finish()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
        return Extraction(len(self.names), tuple(self.names), *self.size, self.rotation, self.decoded,
                          tuple(self.corrupt))

    def _decode_all(self, ctx, skip_unselected: bool) -> None:
        latest: dict[int, int] = {}  # bucket -> highest pts demuxed so far
        window: deque = deque()
        for packet in self.container.demux(self.stream):
            if packet.size == 0 and packet.pts is None:
                continue  # the demuxer's end-of-stream marker; we flush ourselves
            if packet.pts is not None:
                if self.first_pts is None:
                    self.first_pts = packet.pts
                bucket = self.selector.bucket(packet.pts * self.tb - self.offset)
                latest[bucket] = max(latest.get(bucket, packet.pts), packet.pts)
            window.append(packet)
            if len(window) > _LOOKAHEAD:
                self._decode(ctx, window.popleft(), latest, skip_unselected)
        while window:
            self._decode(ctx, window.popleft(), latest, skip_unselected)
        ctx.skip_frame = "DEFAULT"
        self._decode_packet(ctx, None)

    def _decode(self, ctx, packet, latest: dict[int, int], skip_unselected: bool) -> None:
        ctx.skip_frame = "NONREF" if skip_unselected and self._provably_unused(packet, latest) else "DEFAULT"
        self._decode_packet(ctx, packet)

    def _decode_packet(self, ctx, packet) -> None:
        """Frames of one packet (None: flush). A packet the decoder refuses as invalid data is skipped
        and noted; the decoder takes the next one as the ffmpeg CLI does. (With frame threads the
        refusal may surface on a later packet; the time noted is the packet that raised it.)"""
        try:
            frames = ctx.decode(packet)
        except av.error.InvalidDataError:
            self._note_corrupt(packet)
            return
        for frame in frames:
            self._on_frame(frame)

    def _note_corrupt(self, packet) -> None:
        ts = None if packet is None else (packet.pts if packet.pts is not None else packet.dts)
        t = float(ts * self.tb - self.offset) if ts is not None else float(self.held_time)
        last = self.corrupt[-1] if self.corrupt else None
        if last is not None and t - last.end <= _SPAN_GAP:
            self.corrupt[-1] = CorruptSpan(last.start, max(last.end, t), last.packets + 1)
        else:
            self.corrupt.append(CorruptSpan(t, t, 1))

    def _provably_unused(self, packet, latest: dict[int, int]) -> bool:
        """A later frame lands in the same slot, so this one is replaced before it is shown.
        (Never the very first frame: the spaced selector shows it in every slot before it.)"""
        if packet.pts is None or packet.is_keyframe or self.first_pts is None or packet.pts <= self.first_pts:
            return False
        bucket = self.selector.bucket(packet.pts * self.tb - self.offset)
        return latest.get(bucket, packet.pts) > packet.pts

    # -- selection -------------------------------------------------------------------------
    def _frame_time(self, frame) -> Fraction:
        ts = frame.pts if frame.pts is not None else frame.dts
        if ts is None:  # no timestamp at all: assume the nominal frame duration
            return self.held_time + self._nominal_duration()
        return ts * self.tb - self.offset

    def _nominal_duration(self) -> Fraction:
        rate = self.stream.average_rate or self.stream.guessed_rate
        return 1 / Fraction(rate) if rate else Fraction(1, 25)

    def _on_frame(self, frame) -> None:
        self.decoded += 1
        t = self._frame_time(frame)
        if self.held is None:
            self._start(frame)
            self.selector.start(t)
        else:
            self._emit(self.held, self.selector.copies_until(self.selector.bucket(t)))
        self.held, self.held_time = frame, t
        self._report(t)

    def _start(self, frame) -> None:
        rotation = int(frame.rotation or 0) % 360
        self.rotation = rotation - 360 if rotation > 180 else rotation
        if self.rotation not in ROTATIONS:
            self.rotation = 0  # only right angles are applied; other matrices are rare and lossy
        self.encoder = JpegEncoder(self.quality, self.rotation)
        w, h = frame.width, frame.height
        self.size = (h, w) if abs(self.rotation) == 90 else (w, h)

    def _finish(self) -> None:
        if self.held is not None:
            end = self.held_time + self._held_duration()
            self._emit(self.held, self.selector.copies_until(self.selector.end_bucket(end)))
        self._drain(0)
        if self.progress:
            self.progress(1.0)

    def _held_duration(self) -> Fraction:
        if self.held is not None and self.held.duration:
            return self.held.duration * self.tb
        return self._nominal_duration()

    # -- encoding and delivery -------------------------------------------------------------
    def _emit(self, frame, copies: int) -> None:
        if copies <= 0:
            return
        assert self.encoder is not None
        self.pending.append((self.pool.submit(self.encoder, frame), copies))
        self._drain(self.max_pending)

    def _drain(self, keep: int) -> None:
        while len(self.pending) > keep:
            future, copies = self.pending.popleft()
            data = future.result()
            for _ in range(copies):  # a slower source repeats a frame, as ffmpeg does
                name = frame_name(len(self.names) + 1)
                self.sink(name, data)
                self.names.append(name)

    def _report(self, t: Fraction) -> None:
        if not self.progress or self.duration <= 0:
            return
        fraction = min(1.0, max(0.0, float(t) / self.duration))
        if fraction - self.last_reported >= 0.01:
            self.last_reported = fraction
            self.progress(fraction)

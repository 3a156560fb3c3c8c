"""Parse a subtitle file by its content: SubRip (SRT), WebVTT, ASS/SSA and Scenarist SCC through
FFmpeg's own demuxers and decoders (PyAV, `file` protocol only), TTML as XML.

The format is recognised from the text (a WEBVTT header, `[Script Info]`, `Scenarist_SCC`, a TTML
`<tt>` root, else SubRip's numbered cues), never from the name. A file is accepted when it is text,
every cue decodes, the times are sane, and there is at least one cue: an image, a binary or a text
without a single cue named .srt is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import av
import av.error

from omnidrop.pipeline.media.ffmpeg_input import open_local
from omnidrop.pipeline.rejected import Rejected

MAX_BYTES = 32 * 1024 * 1024  # subtitles are text: a few MB for the longest film
TTML_NS = "http://www.w3.org/ns/ttml"
_SRT_CUE = re.compile(rb"^\s*\d+\s*\r?\n\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}", re.M)


class SubtitleRejected(Rejected):
    """Not a subtitle file a subtitle role accepts."""


@dataclass(frozen=True)
class SubtitleInfo:
    format: str  # srt, webvtt, ass, scc, ttml
    cues: int
    start: float  # seconds: the first cue's start and the last cue's end
    end: float


def _text(path: Path) -> bytes:
    size = path.stat().st_size
    if size == 0:
        raise SubtitleRejected("the subtitle file is empty", "empty")
    if size > MAX_BYTES:
        raise SubtitleRejected(f"{size} bytes is far more than a subtitle file holds", "too_large")
    data = path.read_bytes()
    if b"\x00" in data:
        raise SubtitleRejected("content is binary, not subtitle text", "not_text")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            data.decode("cp1252")  # older SRTs are often Windows-1252
        except UnicodeDecodeError:
            raise SubtitleRejected("content is not text in UTF-8 or Windows-1252", "not_text") from None
    return data.removeprefix(b"\xef\xbb\xbf")


def sniff(text: bytes) -> str | None:
    head = text.lstrip()[:4096]
    if head.startswith(b"WEBVTT"):
        return "webvtt"
    if head.startswith(b"[Script Info]"):
        return "ass"
    if head.startswith(b"Scenarist_SCC"):
        return "scc"
    if head.startswith(b"<") and re.search(rb"<(\w+:)?tt[\s>]", head):
        return "ttml"
    if _SRT_CUE.match(text.lstrip()):
        return "srt"
    return None


def probe_subtitle(path: str | Path) -> SubtitleInfo:
    path = Path(path)
    text = _text(path)
    fmt = sniff(text)
    if fmt is None:
        raise SubtitleRejected("content is not SRT, WebVTT, ASS/SSA, SCC or TTML subtitles", "unsupported_format")
    if fmt == "ttml":
        return _ttml(text)
    return _ffmpeg(path, fmt)


def _ffmpeg(path: Path, fmt: str) -> SubtitleInfo:
    container = open_local(path, lambda why: SubtitleRejected(f"FFmpeg cannot read it as {fmt} ({why})", "corrupt"),
                           forced=fmt)
    cues, start, end = 0, None, 0.0
    with container:
        if not container.streams.subtitles:
            raise SubtitleRejected(f"no subtitle stream in the {fmt} file", "corrupt")
        stream = container.streams.subtitles[0]
        try:
            for packet in container.demux(stream):
                if packet.size == 0 or packet.pts is None:
                    continue  # the demuxer's end-of-stream marker
                packet.decode()  # a cue the decoder refuses raises here
                t0 = float(packet.pts * stream.time_base)
                t1 = t0 + float((packet.duration or 0) * stream.time_base)
                if t0 < 0 or t1 < t0:
                    raise SubtitleRejected(f"cue {cues + 1} has impossible times ({t0:.3f} to {t1:.3f} s)", "bad_times")
                cues += 1
                start = t0 if start is None else min(start, t0)
                end = max(end, t1)
        except av.error.FFmpegError as exc:
            raise SubtitleRejected(f"cue {cues + 1} does not decode ({exc})", "corrupt") from exc
    if not cues:
        raise SubtitleRejected(f"the {fmt} file has no cues", "no_cues")
    return SubtitleInfo(fmt, cues, start or 0.0, end)


def _ttml(text: bytes) -> SubtitleInfo:
    if b"<!ENTITY" in text:  # entity declarations are how XML bombs and external reads start
        raise SubtitleRejected("TTML with entity declarations is refused", "unsafe_xml")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise SubtitleRejected(f"the TTML is not well-formed XML ({exc})", "corrupt") from None
    if root.tag != f"{{{TTML_NS}}}tt":
        raise SubtitleRejected(f"the XML root is {root.tag!r}, not a TTML <tt> element", "unsupported_format")
    cues = [p for p in root.iter(f"{{{TTML_NS}}}p")]
    if not cues:
        raise SubtitleRejected("the TTML file has no <p> cues", "no_cues")
    times = [_clock(p.get(a)) for p in cues for a in ("begin", "end")]
    known = [t for t in times if t is not None]
    return SubtitleInfo("ttml", len(cues), min(known, default=0.0), max(known, default=0.0))


def _clock(value: str | None) -> float | None:
    """TTML clock times (hh:mm:ss.fff) and offsets (12.5s, 300ms); other forms are left unknown."""
    if not value:
        return None
    m = re.fullmatch(r"(\d+):(\d{2}):(\d{2}(?:\.\d+)?)", value.strip())
    if m:
        return int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(h|m|s|ms)", value.strip())
    if m:
        return float(m[1]) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[m[2]]
    return None

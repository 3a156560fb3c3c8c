"""Probe an audio file by its content: a known audio container or stream by its first bytes, opened
by FFmpeg with an audio demuxer allow-list and the `file` protocol only, with an audio stream whose
first frames decode. A video file, an image or text named .m4a is refused with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import av.error

from omnidrop.pipeline.media import spherical  # ISO-BMFF recognition, shared with the video probe
from omnidrop.pipeline.media.ffmpeg_input import open_local
from omnidrop.pipeline.rejected import Rejected

FORMAT_WHITELIST = "mov,mp4,m4a,3gp,3g2,mj2,mp3,wav,aac,flac,aiff,ac3,eac3,caf,matroska,webm,ogg"
DECODE_FRAMES = 8  # enough to know the stream really is audio, without decoding hours of it


class AudioRejected(Rejected):
    """Not audio an audio role accepts."""


@dataclass(frozen=True)
class AudioInfo:
    container: str
    codec: str
    channels: int
    sample_rate: int
    duration: float | None  # seconds, when the container or stream declares it
    streams: int  # audio streams in the file


def sniff(head: bytes) -> str | None:
    """The audio family of the first bytes, or None."""
    if head.startswith(b"ID3"):
        return "mp3"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head.startswith(b"caff"):
        return "caf"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"\x0b\x77"):
        return "ac3"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "aac"  # ADTS: sync word, layer 0
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "mp3"  # an MPEG audio frame sync without an ID3 tag
    if spherical.looks_like_bmff(head):
        return "mp4"
    return None


def probe_audio(path: str | Path) -> AudioInfo:
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(64)
    family = sniff(head)
    if family is None:
        raise AudioRejected("content is not a recognised audio format", "unsupported_format")
    container = open_local(path, lambda why: AudioRejected(f"FFmpeg cannot open it as audio ({why})", "corrupt"),
                           allowed=FORMAT_WHITELIST)
    with container:
        videos = [v for v in container.streams.video if not v.disposition & av.stream.Disposition.attached_pic]
        if videos:
            raise AudioRejected("the file holds a video stream; an audio file is expected", "not_audio")
        if not container.streams.audio:
            raise AudioRejected("the file has no audio stream", "no_audio")
        stream = container.streams.audio[0]
        decoded = 0
        try:
            for _frame in container.decode(stream):
                decoded += 1
                if decoded >= DECODE_FRAMES:
                    break
        except av.error.FFmpegError as exc:
            raise AudioRejected(f"the audio does not decode ({exc})", "corrupt") from exc
        if not decoded:
            raise AudioRejected("the audio stream has no samples", "corrupt")
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        ctx = stream.codec_context
        return AudioInfo(container=container.format.name.split(",")[0], codec=ctx.codec.canonical_name,
                         channels=stream.layout.nb_channels,
                         sample_rate=ctx.sample_rate, duration=duration, streams=len(container.streams.audio))

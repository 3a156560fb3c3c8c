"""Direct video group files made at test time: eye clips, audio, subtitles, AIME and an FCPXML bundle."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from tests.pipeline.media.conftest import write_audio_only, write_video

SRT = b"""1
00:00:00,000 --> 00:00:01,000
Hello there.

2
00:00:01,000 --> 00:00:01,900
Welcome to the beach.
"""
VTT = b"""WEBVTT

00:00.000 --> 00:01.000
Hello there.

00:01.000 --> 00:01.900
Welcome to the beach.
"""
NOT_SUBTITLES = b"This is a shopping list.\nMilk\nEggs\n"
AIME = b'{"venue": "beach", "cameras": [{"id": "left"}, {"id": "right"}]}'
FCPXML = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE fcpxml>
<fcpxml version="1.11"><resources/><library><event name="Trip"><project name="Beach"/></event></library></fcpxml>
"""


def fcpxmld_zip(document: bytes = FCPXML) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("Beach.fcpxmld/Info.fcpxml", document)
        zf.writestr("Beach.fcpxmld/Assets/readme.txt", b"assets")
    return out.getvalue()


def eye(path: Path, frames: int = 20, size: tuple[int, int] = (128, 64), rate: int = 10) -> bytes:
    """A short H.264 clip; two calls with the same arguments are a matching left/right pair."""
    return write_video(path, size=size, rate=rate, frames=frames).read_bytes()


def audio(path: Path) -> bytes:
    return write_audio_only(path).read_bytes()

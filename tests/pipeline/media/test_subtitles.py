"""Subtitles are parsed by content (FFmpeg's demuxers, TTML as XML), never trusted by name."""

import pytest

from omnidrop.pipeline.media.subtitles import SubtitleRejected, probe_subtitle
from tests.support import direct_video as dv

ASS = b"""[Script Info]
ScriptType: v4.00+

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, \
MarginV, Encoding
Style: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,2,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,Hello
"""
TTML = b"""<?xml version="1.0"?><tt xmlns="http://www.w3.org/ns/ttml" xml:lang="en"><body><div>
<p begin="00:00:01.000" end="00:00:02.000">Hello</p><p begin="2.5s" end="4s">Again</p></div></body></tt>"""


@pytest.mark.parametrize("text, fmt, cues, end", [
    (dv.SRT, "srt", 2, 1.9),
    (b"\xef\xbb\xbf" + dv.SRT.replace(b"\n", b"\r\n"), "srt", 2, 1.9),  # BOM and CRLF, as Windows tools write
    (dv.VTT, "webvtt", 2, 1.9),
    (ASS, "ass", 1, 2.5),
    (TTML, "ttml", 2, 4.0),
])
def test_accepted_formats(tmp_path, text, fmt, cues, end):
    path = tmp_path / "subs.txt"  # the name says nothing
    path.write_bytes(text)
    info = probe_subtitle(path)
    assert (info.format, info.cues, info.end) == (fmt, cues, pytest.approx(end))


@pytest.mark.parametrize("text, code", [
    (dv.NOT_SUBTITLES, "unsupported_format"),
    (b"\xff\xd8\xff\xe0JFIF\x00 a JPEG", "not_text"),
    (b"WEBVTT\n\nno cues at all\n", "no_cues"),
    (b"<tt xmlns='http://www.w3.org/ns/ttml'><body/></tt>", "no_cues"),
    (b"<tt xmlns='http://www.w3.org/ns/ttml'><body><p>", "corrupt"),
    (b"", "empty"),
])
def test_refused_with_a_reason(tmp_path, text, code):
    path = tmp_path / "subs.srt"
    path.write_bytes(text)
    with pytest.raises(SubtitleRejected) as caught:
        probe_subtitle(path)
    assert caught.value.code == code and caught.value.reason

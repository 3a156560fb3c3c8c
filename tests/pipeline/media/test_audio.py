"""Audio files are probed by content: real audio is described, video or text named .m4a is refused."""

import pytest

from omnidrop.pipeline.media.audio import AudioRejected, probe_audio
from tests.pipeline.media.conftest import write_audio_only


def test_real_audio_is_described(tmp_path):
    info = probe_audio(write_audio_only(tmp_path / "mix.m4a"))
    assert (info.codec, info.channels, info.sample_rate, info.streams) == ("aac", 2, 48000, 1)
    assert info.duration == pytest.approx(1.0, abs=0.1)


def test_a_video_is_not_audio(mp4_clip):
    with pytest.raises(AudioRejected) as caught:
        probe_audio(mp4_clip)
    assert caught.value.code == "not_audio"


@pytest.mark.parametrize("data, code", [
    (b"1\n00:00:01,000 --> 00:00:02,000\nhello\n", "unsupported_format"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt garbage that is not a wave", "corrupt"),
])
def test_not_audio_is_refused(tmp_path, data, code):
    path = tmp_path / "mix.m4a"
    path.write_bytes(data)
    with pytest.raises(AudioRejected) as caught:
        probe_audio(path)
    assert caught.value.code == code

from __future__ import annotations

import shutil

import pytest
from PIL import Image

from omnidrop.pipeline.media.probe import VideoLimits, VideoRejected, open_container, probe

from .conftest import CODECS, CONTAINERS, SECONDS, SIZE, write_audio_only


@pytest.mark.parametrize("container", list(CONTAINERS))
def test_every_accepted_container_probes(clips, container):
    info = probe(clips[container])
    assert info.container == container
    assert info.codec == CODECS[container]
    assert (info.width, info.height) == SIZE
    assert info.rotation == 0
    assert info.fps == pytest.approx(30.0)
    assert info.duration == pytest.approx(SECONDS, abs=0.05)
    assert info.frame_count == 60
    assert info.bitrate and info.bitrate > 0
    assert info.spherical is None


def test_colour_and_rotation_are_reported(bars_clip, rotated_clip):
    colour = probe(bars_clip).color
    assert (colour.matrix, colour.range, colour.primaries, colour.transfer) == ("bt709", "tv", "bt709", "bt709")
    assert (colour.pixel_format, colour.bit_depth) == ("yuv420p", 8)

    turned = probe(rotated_clip)
    assert turned.rotation == 90
    assert (turned.width, turned.height) == (SIZE[1], SIZE[0])  # displayed portrait
    assert (turned.coded_width, turned.coded_height) == SIZE


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".flv"])
def test_audio_streams_are_listed(make_video, tmp_path, suffix):
    encoder = "flv" if suffix == ".flv" else "libx264"
    path = make_video(f"with_audio{suffix}", encoder=encoder, frames=30, audio=True)
    info = probe(path)
    assert [(a.codec, a.channels, a.sample_rate) for a in info.audio] == [("aac", 2, 48000)]
    assert info.duration == pytest.approx(1.0, abs=0.1)
    # The end-of-data check counts every stream when only the file's duration is declared.
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(path.read_bytes()[: int(path.stat().st_size * 0.8)])
    with pytest.raises(VideoRejected) as caught:
        probe(cut)
    assert caught.value.code == "truncated"


def test_live_webm_without_declared_duration_is_measured(make_video):
    # Browsers' MediaRecorder writes WebM with neither duration nor cues.
    path = make_video("live.webm", encoder="libvpx", options={"live": "1"})
    info = probe(path)
    assert info.duration == pytest.approx(SECONDS, abs=0.05)
    assert info.frame_count == 60


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nclip.mp4\n#EXT-X-ENDLIST\n", "HLS playlist"),
        (b"ffconcat version 1.0\nfile clip.mp4\n", "ffconcat script"),
        (b"just some text\n" * 20, "not a recognised video container"),
    ],
)
def test_text_that_points_at_other_files_is_refused(tmp_path, content, words):
    path = tmp_path / "upload.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoRejected) as caught:
        probe(path)
    assert caught.value.code == "unsupported_format"
    assert words in caught.value.reason


def test_a_jpeg_renamed_mp4_is_refused(tmp_path):
    path = tmp_path / "photo.mp4"
    Image.new("RGB", (640, 480), (10, 20, 30)).save(path, "JPEG")
    with pytest.raises(VideoRejected) as caught:
        probe(path)
    assert caught.value.code == "unsupported_format"
    assert "JPEG image" in caught.value.reason


@pytest.mark.parametrize(
    "content",
    [b"\xff\xd8\xff\xe0" + bytes(2000), b"ffconcat version 1.0\nfile /etc/passwd\n", b"#EXTM3U\nhttp://x/a.ts\n"],
)
def test_ffmpeg_whitelists_refuse_on_their_own(tmp_path, content):
    # Second line of defence, behind the magic-byte check: FFmpeg itself must refuse.
    path = tmp_path / "upload.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoRejected) as caught:
        open_container(path)
    assert caught.value.code == "unsupported_format"


@pytest.mark.parametrize("container", ["mp4", "mov", "avi", "asf", "webm", "matroska", "flv"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_uploads_are_refused(clips, tmp_path, container, keep):
    source = clips[container]
    cut = tmp_path / f"cut{source.suffix}"
    data = source.read_bytes()
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(VideoRejected) as caught:
        probe(cut)
    assert caught.value.code == "truncated"
    assert "cut off" in caught.value.reason or "truncated" in caught.value.reason


def test_truncated_faststart_mp4_is_refused(make_video, tmp_path):
    source = make_video("faststart.mp4", options={"movflags": "faststart"})
    assert probe(source).frame_count == 60
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(source.read_bytes()[:-2000])
    with pytest.raises(VideoRejected) as caught:
        probe(cut)
    assert caught.value.code == "truncated"
    assert "mdat" in caught.value.reason


def test_vendor_trailer_after_the_last_box_is_tolerated(mp4_clip, tmp_path):
    # Insta360 cameras append telemetry after the last MP4 box, ending in a magic string.
    path = tmp_path / "VID_0001.insv"
    trailer = bytes(range(7, 200)) * 20 + b"8db42d694ccc418790edff439fe026bf"
    path.write_bytes(mp4_clip.read_bytes() + trailer)
    assert probe(path).frame_count == 60


def test_damaged_body_with_valid_magic_is_corrupt(mp4_clip, tmp_path):
    path = tmp_path / "damaged.mp4"
    data = bytearray(mp4_clip.read_bytes())
    moov = data.rfind(b"moov")
    data[moov + 4 : moov + 200] = bytes(196)  # wipe the movie header and the track's start
    path.write_bytes(bytes(data))
    with pytest.raises(VideoRejected) as caught:
        probe(path)
    assert caught.value.code in {"corrupt", "no_video"}


def test_codec_outside_the_allow_list_is_refused(make_video):
    path = make_video("lossless.mkv", encoder="ffv1", frames=10)
    with pytest.raises(VideoRejected) as caught:
        probe(path)
    assert caught.value.code == "unsupported_codec"
    assert "ffv1" in caught.value.reason


def test_audio_only_file_has_no_video(media_dir):
    with pytest.raises(VideoRejected) as caught:
        probe(write_audio_only(media_dir / "voice.mp4"))
    assert caught.value.code == "no_video"


@pytest.mark.parametrize(
    ("limits", "code"),
    [
        (VideoLimits(max_width=256), "resolution_out_of_range"),
        (VideoLimits(min_height=480), "resolution_out_of_range"),
        (VideoLimits(max_duration=1.5), "duration_out_of_range"),
        (VideoLimits(min_duration=3.0), "duration_out_of_range"),
        (VideoLimits(max_fps=25), "frame_rate_out_of_range"),
    ],
)
def test_limits(mp4_clip, limits, code):
    with pytest.raises(VideoRejected) as caught:
        probe(mp4_clip, limits)
    assert caught.value.code == code


def test_name_does_not_matter(mp4_clip, tmp_path):
    renamed = tmp_path / "holiday.jpg"
    shutil.copy(mp4_clip, renamed)
    assert probe(renamed).container == "mp4"


def test_tiny_frame_rate_clip_with_few_frames(make_video):
    info = probe(make_video("slow.mp4", rate=2, frames=5))
    assert info.fps == pytest.approx(2.0)
    assert info.frame_count == 5
    assert info.duration == pytest.approx(2.5, abs=0.05)


from __future__ import annotations

import io
import math
import random
import shutil
import subprocess
from fractions import Fraction

import pytest
from PIL import Image

from omnidrop.pipeline.media.frames import extract_frames
from omnidrop.pipeline.media.probe import VideoRejected

from .conftest import BARS, CONTAINERS, SIZE, bars_image, index_image, read_index


def collect(path, **kwargs):
    out: dict[str, bytes] = {}
    order: list[str] = []

    def sink(name: str, data: bytes) -> None:
        assert name not in out, "a name was delivered twice"
        out[name] = data
        order.append(name)

    result = extract_frames(path, sink, **kwargs)
    assert list(result.names) == order
    return result, [out[name] for name in order]


def round_half_away(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def fps_filter_choice(frames: int, rate: Fraction, fps: Fraction) -> list[int]:
    """Frame indices `-vf fps=<fps>` outputs for a constant-rate clip starting at 0:
    slot n shows the last frame i with round(i / rate * fps) <= n, for slots from 0 up to
    round(frames / rate * fps) (FFmpeg's fps filter, rounding to nearest)."""
    slot = [round_half_away(Fraction(i) / rate * fps) for i in range(frames)]
    end = round_half_away(Fraction(frames) / rate * fps)
    return [max(i for i in range(frames) if slot[i] <= n) for n in range(end)]


def test_five_fps_from_a_two_second_clip(mp4_clip):
    result, jpegs = collect(mp4_clip)
    assert result.count == 10
    assert list(result.names) == [f"frame_{i:04d}.jpg" for i in range(1, 11)]
    assert (result.width, result.height, result.rotation) == (*SIZE, 0)
    for data in jpegs:
        image = Image.open(io.BytesIO(data))
        assert (image.format, image.size) == ("JPEG", SIZE)


@pytest.mark.parametrize("container", list(CONTAINERS))
def test_every_container(clips, container):
    assert collect(clips[container])[0].count == 10


@pytest.mark.parametrize(
    ("rate", "frames", "fps"),
    [
        (30, 60, 5),
        (24, 46, 5),  # the clip ends between two 5 fps slots
        (25, 51, 5),
        (Fraction(30000, 1001), 100, 5),
        (60, 97, 5),
        (10, 23, 2.5),
        (2, 7, 5),  # slower than the output: frames repeat, like ffmpeg
    ],
)
def test_selection_matches_ffmpeg_fps_filter(make_video, rate, frames, fps):
    path = make_video(f"index_{float(rate):.2f}_{frames}.mp4", size=(64, 64), rate=rate, frames=frames,
                      image=index_image)  # fmt: skip
    expected = fps_filter_choice(frames, Fraction(rate), Fraction(fps))
    _, jpegs = collect(path, fps=fps)
    assert [read_index(Image.open(io.BytesIO(d))) for d in jpegs] == expected


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command-line tool")
@pytest.mark.parametrize("container", ["mp4", "matroska", "avi"])
def test_same_frames_as_the_ffmpeg_cli(make_video, tmp_path, container):
    suffix, muxer, encoder = CONTAINERS[container]
    encoder = "libx264" if encoder == "libx265" else encoder
    path = make_video(f"cli_{container}{suffix}", encoder=encoder, muxer=muxer, size=(64, 64), rate=24, frames=47,
                      image=index_image)  # fmt: skip
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-vf", "fps=5", str(tmp_path / "%04d.jpg")], check=True)
    theirs = [read_index(Image.open(p)) for p in sorted(tmp_path.glob("*.jpg"))]
    _, jpegs = collect(path)
    assert [read_index(Image.open(io.BytesIO(d))) for d in jpegs] == theirs


def test_live_webm_without_duration_or_index(make_video):
    # MediaRecorder output: no duration, no cues; the duration is measured, then rewound.
    path = make_video("live_frames.webm", encoder="libvpx", size=(64, 64), image=index_image, options={"live": "1"})
    assert collect(path)[0].count == 10
    _, jpegs = collect(path, count=4)
    assert [read_index(Image.open(io.BytesIO(d))) for d in jpegs] == [0, 15, 30, 45]


def test_evenly_spaced_count(make_video):
    path = make_video("spin.mp4", size=(64, 64), rate=30, frames=60, image=index_image)
    result, jpegs = collect(path, count=8)
    assert result.count == 8
    # Slot k is at k * 2 s / 8: the frame shown then is index floor(k * 60 / 8).
    assert [read_index(Image.open(io.BytesIO(d))) for d in jpegs] == [k * 60 // 8 for k in range(8)]


def test_more_slots_than_frames_repeats_frames(make_video):
    path = make_video("short.mp4", size=(64, 64), rate=5, frames=4, image=index_image)
    _, jpegs = collect(path, count=10)
    assert [read_index(Image.open(io.BytesIO(d))) for d in jpegs] == [0, 0, 0, 1, 1, 2, 2, 2, 3, 3]


@pytest.mark.parametrize(("name", "encoder"), [("b.mp4", "libx264"), ("b.mkv", "libx265"), ("b.avi", "mpeg4")])
def test_skipping_unselected_frames_changes_nothing(make_video, name, encoder):
    path = make_video(name, encoder=encoder, size=(64, 64), rate=30, frames=90, image=index_image, b_frames=3)
    fast, fast_jpegs = collect(path)
    slow, slow_jpegs = collect(path, skip_unselected=False)
    assert slow.decoded == 90
    assert fast.decoded < 90  # B-frames between chosen frames were never decoded
    assert fast_jpegs == slow_jpegs


def test_no_skipping_when_hevc_has_temporal_layers(make_video):
    # A sub-layer "non-reference" HEVC picture may be referenced from a higher layer.
    path = make_video("layers.mkv", encoder="libx265", size=(64, 64), frames=60, x265_params="temporal-layers=2")
    assert collect(path)[0].decoded == 60


def test_same_input_same_output(mp4_clip):
    first, first_jpegs = collect(mp4_clip)
    again, again_jpegs = collect(mp4_clip)
    # Worker counts change the speed, never the bytes.
    other, other_jpegs = collect(mp4_clip, decode_threads=1, encode_threads=3)
    assert first.names == again.names == other.names
    assert first_jpegs == again_jpegs == other_jpegs


def test_bt709_colours_survive(bars_clip):
    _, jpegs = collect(bars_clip)
    image = Image.open(io.BytesIO(jpegs[0])).convert("RGB")
    step = SIZE[0] // len(BARS)
    for k, colour in enumerate(BARS):
        got = image.getpixel((k * step + step // 2, SIZE[1] // 2))
        assert all(abs(a - b) <= 6 for a, b in zip(got, colour)), (colour, got)


def test_untagged_hd_video_is_read_as_bt709(make_video):
    # Most cameras and phones do not tag HD video; players assume BT.709 for it.
    size = (1280, 720)
    path = make_video("untagged_hd.mp4", size=size, frames=3, image=lambda i: bars_image(size), matrix="ITU709")
    _, jpegs = collect(path, count=1)
    image = Image.open(io.BytesIO(jpegs[0])).convert("RGB")
    step = size[0] // len(BARS)
    for k, colour in enumerate(BARS):
        got = image.getpixel((k * step + step // 2, size[1] // 2))
        assert all(abs(a - b) <= 6 for a, b in zip(got, colour)), (colour, got)


def test_untagged_sd_video_is_read_as_bt601(make_video):
    path = make_video("untagged_sd.mp4", frames=3, image=lambda i: bars_image(SIZE), matrix="ITU601")
    _, jpegs = collect(path, count=1)
    image = Image.open(io.BytesIO(jpegs[0])).convert("RGB")
    step = SIZE[0] // len(BARS)
    got = [image.getpixel((k * step + step // 2, SIZE[1] // 2)) for k in range(len(BARS))]
    assert all(abs(a - b) <= 6 for c, g in zip(BARS, got) for a, b in zip(c, g)), got


def test_rotation_is_applied(rotated_clip):
    result, jpegs = collect(rotated_clip)
    assert result.rotation == 90
    image = Image.open(io.BytesIO(jpegs[0])).convert("RGB")
    assert image.size == (SIZE[1], SIZE[0])
    w, h = image.size
    # Turned 90° counter-clockwise, the coded top-left corner is shown bottom-left
    # (where `ffmpeg` with its default autorotate puts it too).
    assert image.getpixel((w // 8, h - h // 8))[0] > 200
    assert image.getpixel((w - w // 8, h // 8))[0] < 60


def test_progress_rises_to_one(mp4_clip):
    seen: list[float] = []
    extract_frames(mp4_clip, lambda name, data: None, progress=seen.append)
    assert seen[-1] == 1.0
    assert seen == sorted(seen)
    assert all(0.0 <= f <= 1.0 for f in seen)
    assert len(seen) > 5


def test_disguised_file_is_refused(tmp_path):
    path = tmp_path / "photo.mp4"
    Image.new("RGB", (64, 64)).save(path, "JPEG")
    with pytest.raises(VideoRejected):
        extract_frames(path, lambda name, data: None)


@pytest.mark.parametrize("kwargs", [{"fps": 0}, {"count": 0}])
def test_bad_arguments(mp4_clip, kwargs):
    with pytest.raises(ValueError):
        extract_frames(mp4_clip, lambda name, data: None, **kwargs)


def test_bit_rot_in_the_middle_is_skipped_and_every_other_frame_delivered(make_video, tmp_path):
    """A patch of damaged bytes mid-file: the ffmpeg CLI skips the packets its decoder refuses and
    delivers every slot; so does the extraction, and it says what it skipped."""
    path = make_video("rot.mp4", size=(160, 96), rate=30, frames=120, image=lambda i: index_image(i, (160, 96)))
    data = bytearray(path.read_bytes())
    start, end = data.index(b"mdat") + 4, data.index(b"moov")  # the media data; its index stays intact
    middle, rng = (start + end) // 2, random.Random(7)
    for i in range(middle, middle + (end - start) // 10):
        data[i] = rng.randrange(256)
    rotten = tmp_path / "rotten.mp4"
    rotten.write_bytes(bytes(data))
    subprocess.run(["ffmpeg", "-v", "quiet", "-i", str(rotten), "-vf", "fps=5", str(tmp_path / "%04d.jpg")])
    theirs = [read_index(Image.open(p)) for p in sorted(tmp_path.glob("*.jpg"))]
    assert len(theirs) == 20  # 4 s at 5 fps: ffmpeg gets them all

    result, jpegs = collect(rotten)
    assert result.count == len(theirs)
    ours = [read_index(Image.open(io.BytesIO(d))) for d in jpegs]
    assert ours[:3] == theirs[:3] and ours[-3:] == theirs[-3:]  # the undamaged ends are the same frames
    assert result.corrupt and result.corrupt_packets >= 1
    assert all(0 < span.start <= span.end < 4 for span in result.corrupt)
    clean, _ = collect(path)
    assert clean.corrupt == () and clean.count == 20

"""The preview is the middle frame; the GIF loops over evenly picked frames and stays under its cap."""

import io
import os

import pytest
from PIL import Image

from omnidrop.pipeline.previews import PreviewError, make_gif, make_preview, pick_evenly


def frames(tmp_path, n: int, size=(400, 300), noisy: bool = False) -> list:
    paths = []
    for i in range(n):
        path = tmp_path / f"frame_{i + 1:04d}.jpg"
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)) if noisy else \
            Image.new("RGB", size, (i * 20 % 256, 100, 150))
        image.save(path, "JPEG")
        paths.append(path)
    return paths


def test_pick_evenly_keeps_both_ends():
    assert pick_evenly(list(range(100)), 5) == [0, 25, 50, 74, 99]
    assert pick_evenly([1, 2], 5) == [1, 2]
    assert pick_evenly(list(range(9)), 1) == [4]


def test_preview_is_the_middle_frame_scaled(tmp_path):
    paths = frames(tmp_path, 5, size=(2048, 1024))
    image = Image.open(io.BytesIO(make_preview(paths)))
    assert image.size == (1024, 512) and image.getpixel((10, 10))[0] == pytest.approx(40, abs=4)


def test_gif_is_bounded_in_frames_edge_and_bytes(tmp_path):
    paths = frames(tmp_path, 50, size=(400, 300))
    gif = Image.open(io.BytesIO(make_gif(paths, max_bytes=4 * 1024 * 1024)))
    assert gif.n_frames == 48 and gif.size == (320, 240) and gif.info["loop"] == 0
    # Noise barely compresses: the cap forces fewer, smaller frames.
    (tmp_path / "noise").mkdir()
    noisy = make_gif(frames(tmp_path / "noise", 8, size=(200, 150), noisy=True), max_bytes=40_000)
    small = Image.open(io.BytesIO(noisy))
    assert len(noisy) <= 40_000 and small.n_frames < 8


def test_no_frames_is_an_error():
    with pytest.raises(PreviewError):
        make_gif([], max_bytes=1000)
    with pytest.raises(PreviewError):
        make_preview([])

"""Equirectangular panoramas from dual fisheye, lens pairs and equirectangular video, at chosen times."""

import io

import pytest
from PIL import Image

from omnidrop.pipeline.media.panoramas import (
    DUAL_FISHEYE,
    EQUIRECT,
    LENS_PAIR,
    Layout,
    Lens,
    PanoramaError,
    render,
)
from tests.pipeline.media.conftest import read_index
from tests.support import walkthroughs as w


def rendered(layout: Layout, times: list[float]) -> tuple[list, list[Image.Image]]:
    jpegs: dict[int, bytes] = {}
    made = render(layout, times, jpegs.__setitem__)
    assert sorted(jpegs) == list(range(len(times)))
    return made, [Image.open(io.BytesIO(jpegs[i])) for i in range(len(times))]


def lens_columns(image: Image.Image) -> str:
    """Per eighth of the equator: R where the red (first) lens shows, B for the blue (second) one."""
    w_, h = image.size
    out = ""
    for k in range(8):
        r, _, b = image.convert("RGB").getpixel((int((k + 0.5) * w_ / 8), h // 2))
        out += "R" if r > b + 80 else "B" if b > r + 80 else "?"
    return out


def test_dual_fisheye_becomes_2_to_1_with_each_lens_on_its_side(tmp_path):
    video = w.dual_fisheye(tmp_path / "walk.insv")
    made, images = rendered(Layout(DUAL_FISHEYE, (Lens(video),)), [0.0, 0.9, 1.9])
    assert [(p.width, p.height) for p in made] == [(256, 128)] * 3
    assert all(image.size == (256, 128) for image in images)
    # v360 puts the first (left) lens in the outer quarters and the second in the middle half.
    assert {lens_columns(image) for image in images} == {"RRBBBBRR"}
    assert [p.frame_time for p in made] == pytest.approx([0.0, 0.9, 1.9])


def test_a_lens_pair_is_stacked_then_converted(tmp_path):
    first, second = w.lens_pair(tmp_path)
    made, images = rendered(Layout(LENS_PAIR, (Lens(first), Lens(second))), [0.0, 1.0])
    assert all(image.size == (256, 128) for image in images)
    assert {lens_columns(image) for image in images} == {"RRBBBBRR"}
    swapped = rendered(Layout(LENS_PAIR, (Lens(second), Lens(first))), [0.5])[1][0]
    assert lens_columns(swapped) == "BBRRRRBB"


def test_equirectangular_frames_pass_unchanged_and_seeks_land_on_the_right_frame(tmp_path):
    video = w.equirect(tmp_path / "tour.mp4", seconds=3.0)
    times = [0.0, 0.4, 0.46, 2.1, 1.0, 2.9, 5.0]  # forward, the next frame, a seek, backwards, past the end
    made, images = rendered(Layout(EQUIRECT, (Lens(video),)), times)
    # The frame shown at t is frame round(t * 10); past the end, the last frame (29).
    assert [read_index(image) for image in images] == [0, 4, 5, 21, 10, 29, 29]
    assert all(image.size == (128, 64) for image in images)


def test_equirectangular_that_is_not_2_to_1_is_scaled_to_it(tmp_path):
    video = w.write_video(tmp_path / "wide.mp4", size=(192, 64), rate=10, frames=10)
    made, images = rendered(Layout(EQUIRECT, (Lens(video),)), [0.5])
    assert images[0].size == (128, 64) and (made[0].width, made[0].height) == (128, 64)


def test_the_same_input_gives_the_same_bytes(tmp_path):
    video = w.dual_fisheye(tmp_path / "walk.insv", seconds=1.0)
    runs = []
    for _ in range(2):
        jpegs: dict[int, bytes] = {}
        render(Layout(DUAL_FISHEYE, (Lens(video),)), [0.0, 0.5, 0.9], jpegs.__setitem__)
        runs.append(jpegs)
    assert runs[0] == runs[1]


def test_lenses_of_different_sizes_do_not_fit(tmp_path):
    first = w.lens(tmp_path / "a_00_1.insv", w.RED)
    second = w.write_video(tmp_path / "b_10_1.mp4", size=(96, 96), rate=10, frames=10)
    with pytest.raises(PanoramaError):
        render(Layout(LENS_PAIR, (Lens(first), Lens(second))), [0.0], lambda i, b: None)


@pytest.mark.parametrize("eye,size", [("top", (128, 128)), ("left", (256, 64))])
def test_stereo_equirectangular_keeps_the_left_eye(tmp_path, eye, size):
    def eyes(i: int) -> Image.Image:  # left eye red, right eye blue
        image = Image.new("RGB", size, w.BLUE)
        image.paste(w.RED, (0, 0, size[0], size[1] // 2) if eye == "top" else (0, 0, size[0] // 2, size[1]))
        return image

    video = w.write_video(tmp_path / "stereo.mp4", size=size, rate=10, frames=5, image=eyes)
    _, images = rendered(Layout(EQUIRECT, (Lens(video),), eye=eye), [0.2])
    assert images[0].size == (128, 64) and lens_columns(images[0]) == "RRRRRRRR"

"""How linked videos are read as one 360 walk: layouts by content, proxies skipped, point counts."""

import pytest

from omnidrop.pipeline.media.panoramas import DUAL_FISHEYE, EQUIRECT, LENS_PAIR, Lens, render
from omnidrop.pipeline.walkthrough_input import UnusableWalk, WalkVideo, inspect, points_count
from tests.pipeline.media.conftest import SAMPLE_ENTRY, insert_into_box, v2_boxes
from tests.support import walkthroughs as w


def one(path) -> list[WalkVideo]:
    return [WalkVideo(path.name, path)]


def test_layouts_by_content(tmp_path):
    fisheye = inspect(one(w.dual_fisheye(tmp_path / "walk.mp4", seconds=1.0)), 200.0)
    assert (fisheye.layout.kind, fisheye.layout.fov, fisheye.gps.source) == (DUAL_FISHEYE, 200.0, "none")
    assert (fisheye.duration, fisheye.fps, fisheye.frame_count) == pytest.approx((1.0, 10.0, 10))
    assert fisheye.last_frame_time == pytest.approx(0.9)
    tour = inspect(one(w.equirect(tmp_path / "tour.insv", seconds=1.0)), 190.0)
    assert (tour.layout.kind, tour.layout.eye) == (EQUIRECT, None)


def test_stereo_equirectangular_keeps_one_eye(tmp_path):
    video = w.write_video(tmp_path / "stereo.mp4", size=(128, 128), rate=10, frames=10)
    insert_into_box(video, SAMPLE_ENTRY, v2_boxes(b"equi", stereo=1))  # top-bottom
    assert inspect(one(video), 190.0).layout.eye == "top"


def test_a_track_per_lens_in_one_file(tmp_path):
    video = w.two_track(tmp_path / "VID_x4.insv")
    walk = inspect(one(video), 190.0)
    assert walk.layout.kind == LENS_PAIR and walk.layout.lenses == (Lens(video, 0), Lens(video, 1))
    jpegs = {}
    made = render(walk.layout, [0.5], jpegs.__setitem__)
    assert (made[0].width, made[0].height) == (256, 128)


def test_lens_pairs_by_name_and_refusals(tmp_path):
    first, second = w.lens_pair(tmp_path)
    walk = inspect([WalkVideo(second.name, second), WalkVideo(first.name, first)], 190.0)
    assert [lens.path for lens in walk.layout.lenses] == [first, second]
    odd = w.write_video(tmp_path / "other_10_002.mp4", size=(96, 96), rate=10, frames=10)
    with pytest.raises(UnusableWalk) as refused:
        inspect([WalkVideo(first.name, first), WalkVideo(odd.name, odd)], 190.0)
    assert refused.value.code == "lens_mismatch"
    with pytest.raises(UnusableWalk) as refused:
        inspect([WalkVideo("a.insv", first), WalkVideo("b.insv", second)], 190.0)
    assert refused.value.code == "unsupported_layout"


def test_points_count(tmp_path):
    walk = inspect(one(w.equirect(tmp_path / "tour.mp4", seconds=3.0)), 190.0)  # 30 frames
    assert points_count(7, walk, 2.0, 1000) == 7
    assert points_count(0, walk, 2.0, 1000) == 2  # one every 2 s: at 0 s and 2 s of 3 s
    assert points_count(0, walk, 0.5, 1000) == 7
    assert points_count(500, walk, 2.0, 1000) == 30  # never more than the frames
    assert points_count(20, walk, 2.0, 12) == 12

"""The turntable video's cameras and encoding, on CPU: the orbit is placed from the rendered scene's true
cameras (one full turn around the point they look at, at their distance, the capture's up kept up), and a
numpy render of the scene's points, projected through those cameras, is written as an H.264 MP4 that PyAV
reads back frame for frame. gsplat's rasterizer (the GPU worker's renderer) is not run here."""

import itertools
import math

import av
import numpy as np
import pytest

from omnidrop.pipeline.training.turntable import (
    look_target,
    orbit_cameras,
    render_turntable,
    up_direction,
    video_size,
    write_turntable,
)
from tests.support.point_render import box_points, point_renderer
from tests.support.scene3d import shared_orbit


def true_cameras():
    views = shared_orbit()
    viewmats = [np.linalg.inv(v.world_from_camera) for v in views]
    w, h = views[0].image.size
    Ks = [np.array([[v.focal, 0, w / 2], [0, v.focal, h / 2], [0, 0, 1.0]]) for v in views]
    return views, viewmats, Ks, [(w, h)] * len(views)


def test_the_orbit_circles_the_scene_s_centre_once_at_the_cameras_distance_with_up_kept_up():
    views, viewmats, Ks, sizes = true_cameras()
    true_up = np.array([0.0, -1.0, 0.0])  # the scene's world y points down
    assert np.degrees(np.arccos(up_direction(np.array(viewmats)) @ true_up)) < 0.5
    assert np.linalg.norm(look_target(np.array(viewmats))) < 1e-6  # they all look at the origin

    cameras = orbit_cameras(viewmats, Ks, sizes, 36, 320, 240)
    assert len(cameras) == 36
    distance = np.mean([np.linalg.norm(v.centre) for v in views])
    elevation = np.mean([math.asin(v.centre @ true_up / np.linalg.norm(v.centre)) for v in views])
    bearings = []
    for cam in cameras:
        rotation, centre = cam.viewmat[:3, :3], cam.centre
        assert np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-9) and np.linalg.det(rotation) > 0
        assert np.linalg.norm(centre) == pytest.approx(distance, rel=1e-6)  # all at the same distance
        assert math.asin(centre @ true_up / np.linalg.norm(centre)) == pytest.approx(elevation, abs=1e-6)
        forward = rotation[2]
        assert forward @ (-centre / np.linalg.norm(centre)) == pytest.approx(1.0, abs=1e-9)  # looks at the centre
        assert abs(rotation[0] @ true_up) < 1e-9  # level: the image's x axis is horizontal
        assert -rotation[1] @ true_up > 0.9  # and the image's up is the world's up
        assert cam.K[0, 2] == 160 and cam.K[1, 2] == 120
        bearings.append(math.atan2(centre[2], centre[0]))
    # One full turn in equal steps, starting at the first camera's bearing.
    steps = np.diff(np.unwrap(bearings))
    assert np.allclose(np.abs(steps), 2 * math.pi / 36, atol=1e-9) and abs(steps.sum()) == pytest.approx(
        2 * math.pi * 35 / 36)
    assert bearings[0] == pytest.approx(math.atan2(views[0].centre[2], views[0].centre[0]))
    # The capture's focal length (0.9 x its width), scaled to the video's width.
    assert cameras[0].K[0, 0] == pytest.approx(0.9 * 320) and cameras[0].K[1, 1] == pytest.approx(0.9 * 256 * 240 / 192)


def test_cameras_that_look_the_same_way_circle_the_points_median():
    """A forward-facing capture: the optical axes never meet, so the turn goes round the sparse cloud."""
    viewmats = []
    for x in (-1.0, 0.0, 1.0):
        vm = np.eye(4)
        vm[:3, 3] = [-x, 0.0, 0.0]  # camera at (x, 0, 0) looking along +z
        viewmats.append(vm)
    points = np.array([[0.0, 0.0, 4.0], [0.2, 0.1, 5.0], [-0.1, 0.0, 6.0]])
    K = np.array([[100.0, 0, 50], [0, 100.0, 40], [0, 0, 1]])
    cameras = orbit_cameras(viewmats, [K] * 3, [(100, 80)] * 3, 8, 200, 160, points=points)
    target = np.median(points, axis=0)
    for cam in cameras:
        to_target = (target - cam.centre) / np.linalg.norm(target - cam.centre)
        assert cam.viewmat[2, :3] @ to_target == pytest.approx(1.0)
    assert cameras[0].K[0, 0] == pytest.approx(200.0)


def test_video_size_keeps_the_aspect_never_enlarges_and_is_even():
    assert video_size(1920, 1080) == (1280, 720)
    assert video_size(1080, 1920) == (720, 1280)
    assert video_size(255, 191) == (256, 192)
    assert video_size(4000, 3000) == (960, 720)


def test_render_turntable_writes_an_mp4_that_decodes_back_frame_for_frame(tmp_path):
    _views, viewmats, Ks, sizes = true_cameras()
    width, height = video_size(*sizes[0])
    cameras = orbit_cameras(viewmats, Ks, sizes, 24, width, height)
    path = tmp_path / "turntable.mp4"
    assert render_turntable(point_renderer(*box_points()), cameras, path, fps=12) == 24

    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart: playable while it downloads
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.average_rate == 12
        assert (stream.codec_context.width, stream.codec_context.height) == (width, height)
        assert stream.codec_context.pix_fmt == "yuv420p"
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(frames) == 24 and frames[0].shape == (height, width, 3)
    for frame in frames:
        assert frame.mean() > 5  # the box is in view in every frame, not a black video
    for a, b in itertools.pairwise(frames):
        assert np.abs(a.astype(int) - b.astype(int)).mean() > 1  # the camera moves
    # Half a turn shows the box's far side: other faces, other colours.
    assert np.abs(frames[0].astype(int).mean((0, 1)) - frames[12].astype(int).mean((0, 1))).max() > 5


def test_write_turntable_crops_odd_sides_and_refuses_what_it_cannot_encode(tmp_path):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (51, 67, 3), dtype=np.uint8) for _ in range(3)]
    assert write_turntable(iter(frames), tmp_path / "odd.mp4", fps=30) == 3
    with av.open(str(tmp_path / "odd.mp4")) as container:
        ctx = container.streams.video[0].codec_context
        assert (ctx.width, ctx.height) == (66, 50)
    with pytest.raises(ValueError, match="at least one frame"):
        write_turntable([], tmp_path / "empty.mp4")
    with pytest.raises(ValueError, match="uint8"):
        write_turntable([np.zeros((8, 8, 3), np.float32)], tmp_path / "float.mp4")
    with pytest.raises(ValueError, match="same size"):
        write_turntable([np.zeros((8, 8, 3), np.uint8), np.zeros((10, 8, 3), np.uint8)], tmp_path / "sizes.mp4")

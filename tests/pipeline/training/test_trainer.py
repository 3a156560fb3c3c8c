"""The trainer's CPU-side parts: the reason a machine cannot train, the held-out split, and the views it
would train on, read from an undistorted (PINHOLE) model of the rendered orbit, and the turntable orbit
placed from them. The gsplat loop (and its turntable renderer) needs CUDA and is not run here."""

import numpy as np
import pytest

from omnidrop.pipeline.reconstruction import reconstruct
from omnidrop.pipeline.splat_training import _undistort
from omnidrop.pipeline.training.trainer import cuda_problem, load_views, split_views
from omnidrop.pipeline.training.turntable import look_target, orbit_cameras, up_direction
from tests.support.scene3d import shared_orbit, umeyama


def test_this_machine_cannot_train_and_says_why():
    problem = cuda_problem()
    assert problem is not None and ("[gpu] extra" in problem or "no CUDA device" in problem)


@pytest.mark.parametrize("count, every, held", [
    (12, 8, [0, 8]), (3, 8, [0]), (2, 8, []), (1, 1, []), (4, 1, [0]),
])
def test_every_nth_view_is_held_out_never_all(count, every, held):
    train, test = split_views(count, every)
    assert test == held and sorted(train + test) == list(range(count)) and train


def test_views_come_from_the_undistorted_model(tmp_path):
    views = shared_orbit()
    frames = tmp_path / "frames"
    frames.mkdir()
    for view in views:
        view.image.save(frames / view.name, quality=92)
    result = reconstruct(frames, [v.name for v in views], tmp_path / "sfm", video=False)
    _undistort(tmp_path / "sfm" / "sparse", frames, tmp_path / "und")
    loaded, points, colours = load_views(tmp_path / "und" / "sparse", tmp_path / "und" / "images")
    assert [v["name"] for v in loaded] == [f["name"] for f in result["frames"]]
    assert len(points) == len(colours) == result["points"] and colours.dtype == np.uint8
    for view, frame in zip(loaded, result["frames"]):
        assert view["path"].exists()
        K = view["K"]
        assert K[0, 1] == 0 and K[2, 2] == 1  # pinhole
        # The same pose as the capture records (world-from-camera is the viewmat's inverse).
        assert np.allclose(np.linalg.inv(view["viewmat"]), np.array(frame["world_from_camera"]), atol=1e-6)

    # The turntable's orbit, placed from these views as the trainer places it, in the true scene's frame
    # (a similarity maps COLMAP's frame onto it): round the box the capture circled, its up kept up.
    orbit = orbit_cameras([v["viewmat"] for v in loaded], [v["K"] for v in loaded],
                          [(v["width"], v["height"]) for v in loaded], 12, 256, 192, points=points)
    truth = {v.name: v.centre for v in views}
    scale, rotation, shift = umeyama(np.array([np.linalg.inv(v["viewmat"])[:3, 3] for v in loaded]),
                                     np.array([truth[v["name"]] for v in loaded]))
    centres = np.array([scale * rotation @ c.centre + shift for c in orbit])
    target = scale * rotation @ look_target(np.array([v["viewmat"] for v in loaded]), points) + shift
    assert np.linalg.norm(target) < 0.05 * 3.2  # the box's centre, within 5 % of the orbit's radius
    up = rotation @ up_direction(np.array([v["viewmat"] for v in loaded]))
    assert np.degrees(np.arccos(up @ [0.0, -1.0, 0.0])) < 3
    distances = np.linalg.norm(centres - target, axis=1)
    assert np.allclose(distances, distances[0]) and distances[0] == pytest.approx(
        np.mean([np.linalg.norm(truth[v["name"]]) for v in loaded]), rel=0.05)

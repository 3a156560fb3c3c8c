"""The trainer's CPU-side parts: the reason a machine cannot train, the held-out split, and the views it
would train on, read from an undistorted (PINHOLE) model of the rendered orbit. The gsplat loop itself
needs CUDA and is not run here."""

import numpy as np
import pytest

from omnidrop.pipeline.reconstruction import reconstruct
from omnidrop.pipeline.splat_training import _undistort
from omnidrop.pipeline.training.trainer import cuda_problem, load_views, split_views
from tests.support.scene3d import shared_orbit


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

"""The focus area as a crop: the box (with its buffer) in East-North-Up metres, the mask that keeps exactly the
points inside it whatever their height, and a box that misses the model cropping nothing."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from omnidrop.pipeline.training.focus import FocusCrop, crop_mask, crop_points, crop_splat, focus_crop
from omnidrop.pipeline.training.options import FocusArea
from omnidrop.pipeline.training.writers import Splat
from tests.support.geotag import ORIGIN, enu_to_geodetic

GEO = {"origin": ORIGIN, "enu_from_model": np.eye(4).ravel().tolist()}


def _similarity(scale: float) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = scale * Rotation.from_rotvec([0.2, 0.5, -0.9]).as_matrix()
    m[:3, 3] = [3.0, -7.0, 1.0]
    return m


def test_the_mask_keeps_exactly_the_points_inside_the_box_at_any_height():
    m = _similarity(4.0)
    rng = np.random.default_rng(5)
    enu = np.column_stack([rng.uniform(-30, 30, 2000), rng.uniform(-30, 30, 2000), rng.uniform(-500, 500, 2000)])
    enu[:4, :2] = [[-9.9999, -4.9999], [11.9999, 7.9999], [12.0001, 0], [0, -5.0001]]  # just inside, just past
    model = (np.linalg.inv(m) @ np.column_stack([enu, np.ones(len(enu))]).T).T[:, :3]
    bounds = (-10.0, -5.0, 12.0, 8.0)
    expected = (enu[:, 0] >= -10) & (enu[:, 0] <= 12) & (enu[:, 1] >= -5) & (enu[:, 1] <= 8)
    mask = crop_mask(model, m, bounds)
    assert mask.dtype == bool and (mask == expected).all()
    assert mask[:4].tolist() == [True, True, False, False]
    assert 0 < mask.sum() < len(mask)


def test_the_box_and_its_buffer_become_east_north_metres():
    corners = enu_to_geodetic(np.array([[-40.0, -25.0, 0.0], [60.0, 35.0, 0.0]]))
    area = FocusArea(corners[0, 0], corners[0, 1], corners[1, 0], corners[1, 1], buffer_meters=5.0)
    crop = focus_crop(area, GEO)
    assert crop.bounds == pytest.approx((-45.0, -30.0, 65.0, 40.0), abs=0.01)
    assert crop.enu_from_model == tuple(np.eye(4).ravel())
    at_edges = np.array([[-44.9, 0, 0], [64.9, 39.9, 100], [-45.2, 0, 0], [0, 40.2, 0]])
    assert crop.mask(at_edges).tolist() == [True, True, False, False]


def test_the_crop_follows_the_models_placement():
    m = _similarity(0.5)  # a model twice the size of the world, turned and shifted
    corners = enu_to_geodetic(np.array([[-1.0, -1.0, 0.0], [1.0, 1.0, 0.0]]))
    crop = focus_crop(FocusArea(corners[0, 0], corners[0, 1], corners[1, 0], corners[1, 1]),
                      {"origin": ORIGIN, "enu_from_model": m.ravel().tolist()})
    inside_enu, outside_enu = np.array([0.9, -0.9, 30.0]), np.array([1.2, 0.0, 0.0])
    to_model = np.linalg.inv(m)
    points = np.array([(to_model @ np.append(p, 1))[:3] for p in (inside_enu, outside_enu)])
    assert crop.mask(points).tolist() == [True, False]


def _splat(means: np.ndarray) -> Splat:
    n = len(means)
    return Splat(means=means, scales=np.zeros((n, 3)), quats=np.tile([1.0, 0, 0, 0], (n, 1)),
                 opacities=np.arange(n, dtype=float), sh0=np.zeros((n, 3)), shN=np.zeros((n, 15, 3)))


CROP = FocusCrop(tuple(np.eye(4).ravel()), (0.0, 0.0, 10.0, 10.0))


def test_the_trained_gaussians_are_cropped_and_counted():
    means = np.array([[1.0, 1, 0], [20, 1, 0], [5, 9, 50], [-1, 5, 0]])
    splat, focus = crop_splat(_splat(means), CROP)
    assert focus == {"applied": True, "kept": 2, "of": 4}
    assert splat.means.tolist() == [[1.0, 1, 0], [5, 9, 50]] and splat.opacities.tolist() == [0.0, 2.0]
    assert splat.shN.shape == (2, 15, 3)


def test_a_box_that_misses_the_model_crops_nothing():
    outside = np.array([[20.0, 20, 0], [-5, 3, 0], [11, 11, 0]])
    colours = np.zeros((3, 3), np.uint8)
    points, kept_colours, left = crop_points(outside, colours, CROP)
    assert left is None and len(points) == len(kept_colours) == 3
    splat, focus = crop_splat(_splat(outside), left, missed=True)
    assert len(splat) == 3 and focus == {"applied": False, "kept": 3, "of": 3}
    # Sparse points inside, trained Gaussians all outside (densification moved them): still not cropped to nothing.
    assert crop_splat(_splat(outside), CROP)[1] == {"applied": False, "kept": 3, "of": 3}
    # No crop asked: nothing to say.
    same, focus = crop_splat(_splat(outside), None)
    assert focus is None and len(same) == 3


def test_the_starting_points_are_cropped():
    points = np.array([[1.0, 1, 0], [20, 1, 0], [5, 9, 50]])
    colours = np.array([[1, 1, 1], [2, 2, 2], [3, 3, 3]], np.uint8)
    kept, kept_colours, left = crop_points(points, colours, CROP)
    assert left is CROP and kept.tolist() == [[1.0, 1, 0], [5, 9, 50]] and kept_colours[:, 0].tolist() == [1, 3]

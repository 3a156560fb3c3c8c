"""Instance masks to polygons: components, Moore boundary tracing, simplification, scaling."""

import numpy as np

from omnidrop.pipeline.masks.contours import components, polygons, simplify, trace


def test_rectangle_traces_to_its_four_corners():
    mask = np.zeros((10, 12), bool)
    mask[2:6, 3:9] = True
    assert simplify(trace(mask)) == [(3, 2), (8, 2), (8, 5), (3, 5)]


def test_concave_shape_keeps_its_notch():
    mask = np.zeros((10, 12), bool)
    mask[2:8, 2:4] = True  # an L: a bar down, a foot to the right
    mask[6:8, 2:9] = True
    ring = simplify(trace(mask))
    assert (8, 6) in ring and (8, 7) in ring and (2, 7) in ring and (3, 2) in ring
    assert all(not (4 <= x and y < 6) for x, y in ring)  # nothing in the empty corner


def test_components_are_separate_and_largest_first_and_specks_dropped():
    mask = np.zeros((20, 20), bool)
    mask[2:5, 2:5] = True
    mask[10:18, 10:18] = True
    mask[0, 19] = True  # a single-pixel speck
    assert [int(c.sum()) for c in components(mask)] == [64, 9, 1]
    rings = polygons(mask, 2.0, 2.0)
    assert rings == [[[21.0, 21.0], [35.0, 21.0], [35.0, 35.0], [21.0, 35.0]],
                     [[5.0, 5.0], [9.0, 5.0], [9.0, 9.0], [5.0, 9.0]]]


def test_empty_mask_has_no_polygons():
    assert polygons(np.zeros((8, 8), bool), 1, 1) == []

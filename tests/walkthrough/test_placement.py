"""Placement arithmetic: evenly spaced times, exact interpolation, GPS where it covers, drawing x/y."""

import pytest

from omnidrop.walkthrough.placement import (
    GPS,
    INTERPOLATED,
    DrawingBounds,
    Fix,
    drawing_xy,
    fractions,
    gps_at,
    place,
    point_times,
)


def test_times_run_from_first_to_last_frame_evenly():
    assert point_times(0.0, 9.0, 4) == [0.0, 3.0, 6.0, 9.0]
    assert point_times(0.0, 9.0, 1) == [4.5]  # a single point sits halfway
    assert fractions(0) == []


def test_positions_are_interpolated_between_start_and_end():
    placed = place(point_times(0, 4, 5), (53.0, -6.0), (53.4, -6.8))
    assert [p.source for p in placed] == [INTERPOLATED] * 5
    assert (placed[0].lat, placed[0].lng) == (53.0, -6.0)
    assert (placed[-1].lat, placed[-1].lng) == (53.4, -6.8)
    assert placed[2].lat == pytest.approx(53.2, abs=1e-12) and placed[2].lng == pytest.approx(-6.4, abs=1e-12)


def test_a_gps_track_replaces_interpolation_only_where_it_covers_the_time():
    track = [Fix(2.0, 10.0, 20.0), Fix(4.0, 10.2, 20.4)]
    placed = place([0.0, 2.0, 3.0, 4.0, 6.0], (0.0, 0.0), (1.0, 1.0), track)
    assert [p.source for p in placed] == [INTERPOLATED, GPS, GPS, GPS, INTERPOLATED]
    assert (placed[2].lat, placed[2].lng) == pytest.approx((10.1, 20.2))
    assert (placed[4].lat, placed[4].lng) == (1.0, 1.0)


def test_gps_gaps_and_lone_fixes():
    assert gps_at([Fix(0.0, 1.0, 2.0), Fix(30.0, 3.0, 4.0)], 15.0) is None  # a 30 s gap is not interpolated
    lone = [Fix(0.0, 1.0, 2.0)]  # a file-level location tag: where the recording started
    assert gps_at(lone, 0.0) == (1.0, 2.0)
    assert gps_at(lone, 5.0) is None
    assert gps_at([], 1.0) is None


def test_drawing_xy_from_bounds():
    bounds = DrawingBounds(north=53.35, south=53.34, east=-6.25, west=-6.27)
    assert drawing_xy(53.35, -6.27, bounds) == pytest.approx((0.0, 0.0))
    assert drawing_xy(53.34, -6.25, bounds) == pytest.approx((1.0, 1.0))
    assert drawing_xy(53.3475, -6.265, bounds) == pytest.approx((0.25, 0.25))
    x, y = drawing_xy(53.36, -6.28, bounds)  # off the drawing: not clamped
    assert x < 0 and y < 0


def test_drawing_xy_across_the_antimeridian():
    bounds = DrawingBounds(north=1.0, south=0.0, east=-179.0, west=179.0)
    assert drawing_xy(0.5, 180.0, bounds) == pytest.approx((0.5, 0.5))
    assert drawing_xy(0.5, -179.5, bounds) == pytest.approx((0.75, 0.5))

"""EXIF position and capture time of photos, as the tour and the file's details use them."""

import io

from PIL import Image

from omnidrop.pipeline.media.exif import photo_metadata
from tests.support.panoramas import pano_jpeg


def meta(data: bytes) -> dict:
    return photo_metadata(Image.open(io.BytesIO(data)))


def test_gps_heading_and_time_are_read():
    found = meta(pano_jpeg((1, 2, 3), gps=(-33.8568, 151.2153), taken="2026:05:01 10:00:07", heading=271.25))
    assert found["gps"] == {"lat": -33.8568, "lng": 151.2153, "alt": 12.0, "heading": 271.25}
    assert found["taken_at"] == "2026-05-01T10:00:07"


def test_west_and_south_are_negative():
    assert meta(pano_jpeg((1, 2, 3), gps=(-1.5, -70.25)))["gps"]["lng"] == -70.25


def test_nothing_is_guessed():
    assert meta(pano_jpeg((1, 2, 3))) == {}
    assert meta(pano_jpeg((1, 2, 3), gps=(0.0, 0.0), taken="0000:00:00 00:00:00")) == {}  # "no fix" / unset clock
    assert meta(pano_jpeg((1, 2, 3), taken="not a time")) == {}

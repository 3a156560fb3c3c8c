"""GPS positions for test pictures: the rendered scene (tests/support/scene3d.py) placed on the Earth, and
the EXIF GPS block a phone writes.

Positions are converted with pycolmap's own WGS84 code (GPSTransform), not omnidrop's, so a test that
compares the two compares independent implementations.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from PIL import Image

# Where the rendered scene stands, and how: 10 m on the ground per scene unit, scene x east, scene z north,
# scene y down (a proper rotation: det = +1).
ORIGIN = {"lat": 48.137, "lng": 11.575, "alt": 520.0}
METRES_PER_UNIT = 10.0
ENU_FROM_SCENE = METRES_PER_UNIT * np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])


def scene_to_enu(points: np.ndarray) -> np.ndarray:
    return np.asarray(points, float).reshape(-1, 3) @ ENU_FROM_SCENE.T


def enu_to_geodetic(enu: np.ndarray, origin: dict = ORIGIN) -> np.ndarray:
    """(N, 3) lat, lng, alt of ENU positions (metres) at `origin`."""
    import pycolmap

    gps = pycolmap.GPSTransform(pycolmap.GPSTransformEllipsoid.WGS84)
    return gps.enu_to_ellipsoid(np.asarray(enu, float).reshape(-1, 3), origin["lat"], origin["lng"], origin["alt"])


def geodetic_to_enu(lla: np.ndarray, origin: dict = ORIGIN) -> np.ndarray:
    import pycolmap

    gps = pycolmap.GPSTransform(pycolmap.GPSTransformEllipsoid.WGS84)
    return gps.ellipsoid_to_enu(np.asarray(lla, float).reshape(-1, 3), origin["lat"], origin["lng"], origin["alt"])


def _dms(value: float) -> tuple[Fraction, Fraction, Fraction]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    # 1e-6 arc-seconds: 0.03 mm, far finer than the tests' tolerances
    seconds = Fraction(round((value - degrees - minutes / 60) * 3600 * 1_000_000), 1_000_000)
    return Fraction(degrees), Fraction(minutes), seconds


def gps_exif(lat: float, lng: float, alt: float | None = None, exif: Image.Exif | None = None) -> Image.Exif:
    """`exif` (or a new block) with a GPS IFD holding the position."""
    exif = exif if exif is not None else Image.Exif()
    ifd = {1: "N" if lat >= 0 else "S", 2: _dms(lat), 3: "E" if lng >= 0 else "W", 4: _dms(lng)}
    if alt is not None:
        ifd[5], ifd[6] = (b"\x00" if alt >= 0 else b"\x01"), Fraction(round(abs(alt) * 1000), 1000)
    exif[0x8825] = ifd
    return exif

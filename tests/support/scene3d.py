"""A textured scene rendered by numpy ray casting from a known camera path, for structure-from-motion tests.

The scene: a box (2 m a side) standing in the middle of a room (10 m a side), every face painted with
random ellipses and rectangles (blobs SIFT finds again from other views). The cameras orbit the box
at `radius`, bobbing up and down a little so the motion is not planar, and look at its centre.

Conventions (COLMAP's / OpenCV's): a camera looks along its +z, x to the right, y down. `views()`
returns the world-from-camera 4x4 pose of each view with its image, so a test knows where every
camera really was.
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

ROOM, BOX = 5.0, 1.0  # half sizes
SUPERSAMPLE = 2


@dataclass(frozen=True)
class View:
    name: str
    image: Image.Image
    world_from_camera: np.ndarray  # 4x4
    focal: float

    @property
    def centre(self) -> np.ndarray:
        return self.world_from_camera[:3, 3]


def _texture(rng: np.random.Generator, size: int = 512, shapes: int = 260) -> np.ndarray:
    base = tuple(int(c) for c in rng.integers(40, 215, 3))
    image = Image.new("RGB", (size, size), base)
    draw = ImageDraw.Draw(image)
    for _ in range(shapes):
        w, h = rng.uniform(0.015, 0.12, 2) * size
        x, y = rng.uniform(0, size, 2)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        box = [x - w / 2, y - h / 2, x + w / 2, y + h / 2]
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    return np.asarray(image)


def _faces(rng: np.random.Generator) -> list[tuple[int, float, int, np.ndarray, bool]]:
    """(axis, plane coordinate, sign of the outward normal, texture, belongs to the room)."""
    faces = []
    for half, room in ((BOX, False), (ROOM, True)):
        for axis in range(3):
            for sign in (-1, 1):
                faces.append((axis, sign * half, sign, _texture(rng), room))
    return faces


def look_at(centre: np.ndarray, target: np.ndarray) -> np.ndarray:
    """World-from-camera 4x4: camera +z towards `target`, image y along world +y (world y points down)."""
    z = target - centre
    z = z / np.linalg.norm(z)
    x = np.cross(np.array([0.0, 1.0, 0.0]), z)
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = x, y, z, centre
    return pose


def render(pose: np.ndarray, faces, size: tuple[int, int], focal: float) -> Image.Image:
    w, h = size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE
    f = focal * SUPERSAMPLE
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    dirs_cam = np.stack([(u - w / 2) / f, (v - h / 2) / f, np.ones_like(u)], -1).reshape(-1, 3)
    dirs = dirs_cam @ pose[:3, :3].T
    origin = pose[:3, 3]
    best_t = np.full(len(dirs), np.inf)
    colour = np.zeros((len(dirs), 3), np.uint8)
    for axis, plane, _sign, texture, room in faces:
        d = dirs[:, axis]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (plane - origin[axis]) / d
        hit = origin + t[:, None] * dirs
        others = [a for a in range(3) if a != axis]
        half = ROOM if room else BOX
        inside = (t > 1e-6) & (np.abs(hit[:, others[0]]) <= half) & (np.abs(hit[:, others[1]]) <= half)
        closer = inside & (t < best_t)
        if not closer.any():
            continue
        best_t[closer] = t[closer]
        tu = (hit[closer, others[0]] / half + 1) / 2
        tv = (hit[closer, others[1]] / half + 1) / 2
        size_t = texture.shape[0]
        iu = np.clip((tu * size_t).astype(int), 0, size_t - 1)
        iv = np.clip((tv * size_t).astype(int), 0, size_t - 1)
        colour[closer] = texture[iv, iu]
    image = Image.fromarray(colour.reshape(h, w, 3))
    return image.resize(size, Image.Resampling.LANCZOS)


def orbit(count: int = 16, size: tuple[int, int] = (320, 240), radius: float = 3.2, seed: int = 7,
          arc_degrees: float = 360.0) -> list[View]:
    """`count` views on an orbit around the box (evenly spaced over `arc_degrees`)."""
    rng = np.random.default_rng(seed)
    faces = _faces(rng)
    focal = 0.9 * size[0]
    views = []
    step = arc_degrees / (count if arc_degrees >= 360 else max(1, count - 1))
    for i in range(count):
        a = math.radians(i * step)
        centre = np.array([radius * math.cos(a), -0.6 - 0.4 * math.sin(3 * a), radius * math.sin(a)])
        pose = look_at(centre, np.array([0.0, 0.0, 0.0]))
        views.append(View(f"view_{i + 1:03d}.jpg", render(pose, faces, size, focal), pose, focal))
    return views


def jpeg_bytes(image: Image.Image, quality: int = 92) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def views_zip(views: list[View]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for view in views:
            zf.writestr(f"orbit/{view.name}", jpeg_bytes(view.image))
    return out.getvalue()


def umeyama(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The similarity (scale, R, t) that best maps the rows of `source` onto those of `target`."""
    mu_s, mu_t = source.mean(0), target.mean(0)
    s, t = source - mu_s, target - mu_t
    cov = t.T @ s / len(source)
    u, d, vt = np.linalg.svd(cov)
    flip = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        flip[2, 2] = -1
    rotation = u @ flip @ vt
    scale = np.trace(np.diag(d) @ flip) / (s ** 2).sum(1).mean()
    return scale, rotation, mu_t - scale * rotation @ mu_s


# The scene the tests share: 12 views, 256x192, over a 110° arc (10° apart): SIFT and COLMAP's mapper
# register all of them in a few seconds.
TEST_VIEWS = {"count": 12, "size": (256, 192), "arc_degrees": 110.0}
_cache: dict[tuple, list[View]] = {}


def shared_orbit() -> list[View]:
    key = tuple(sorted((k, str(v)) for k, v in TEST_VIEWS.items()))
    if key not in _cache:
        _cache[key] = orbit(**TEST_VIEWS)
    return _cache[key]


def centre_error(estimated: dict[str, np.ndarray], views: list[View]) -> tuple[float, float]:
    """(largest camera-centre error after a similarity alignment, extent of the true camera path)."""
    names = sorted(estimated)
    truth = {v.name: v.centre for v in views}
    est = np.array([estimated[n] for n in names])
    tru = np.array([truth[n] for n in names])
    scale, rotation, shift = umeyama(est, tru)
    aligned = (scale * (rotation @ est.T)).T + shift
    all_true = np.array([v.centre for v in views])
    extent = float(np.linalg.norm(all_true[:, None] - all_true[None], axis=-1).max())
    return float(np.linalg.norm(aligned - tru, axis=1).max()), extent

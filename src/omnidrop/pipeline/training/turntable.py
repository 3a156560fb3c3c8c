"""A turntable video of a trained splat: one full turn of a camera around the model, as an H.264 MP4.

`orbit_cameras` places the turn from the capture's own registered cameras: it circles the point they
look at (the least-squares meeting point of their optical axes, or the sparse points' median when the
axes do not meet in front of them), around their up direction (COLMAP's camera y points down, so up
is the mean of their -y axes, levelled: `up_direction`), at their mean distance from that point and
their mean elevation above it, with the median of their focal lengths scaled to the video's size.
`render_turntable` draws each of those views with the `render(viewmat, K, width, height)` it is given
(the GPU worker passes gsplat's rasterizer over the trained Gaussians: pipeline/training/trainer.py) and
`write_turntable` encodes them with PyAV: H.264, yuv420p, even dimensions, `+faststart` so a browser can play it while it downloads.

Conventions (COLMAP's / OpenCV's): `viewmat` is world-to-camera (4x4), camera x right, y down, z forward.
Nothing here needs a GPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TURNTABLE = "turntable.mp4"


@dataclass(frozen=True)
class OrbitCamera:
    viewmat: np.ndarray  # 4x4 world-to-camera
    K: np.ndarray  # 3x3
    width: int
    height: int

    @property
    def centre(self) -> np.ndarray:
        return -self.viewmat[:3, :3].T @ self.viewmat[:3, 3]


def video_size(width: int, height: int, short_side: int = 720) -> tuple[int, int]:
    """The capture's aspect with its short side at `short_side` (never enlarged), both sides even."""
    scale = min(1.0, short_side / min(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def look_target(viewmats: np.ndarray, points: np.ndarray | None = None) -> np.ndarray:
    """The point the cameras look at: nearest (least squares) to all their optical axes. When the axes
    are (nearly) parallel or meet behind the cameras, the sparse points' median (or a point one mean
    camera spacing ahead of the cameras)."""
    rotations, centres = viewmats[:, :3, :3], _centres(viewmats)
    forwards = rotations[:, 2, :]  # camera +z in world
    a, b = np.zeros((3, 3)), np.zeros(3)
    for c, d in zip(centres, forwards, strict=True):
        p = np.eye(3) - np.outer(d, d)
        a += p
        b += p @ c
    eig = np.linalg.eigvalsh(a)
    if eig[0] > 1e-3 * len(viewmats):
        target = np.linalg.solve(a, b)
        if np.median(np.einsum("ij,ij->i", target - centres, forwards)) > 0:
            return target
    if points is not None and len(points):
        return np.median(np.asarray(points, dtype=float), axis=0)
    spread = float(np.linalg.norm(centres - centres.mean(0), axis=1).mean()) or 1.0
    return centres.mean(0) + forwards.mean(0) * spread


def up_direction(viewmats: np.ndarray) -> np.ndarray:
    """The capture's up in world: the mean of the cameras' up vectors (COLMAP's camera y points down, so
    each camera's up is its -y axis). People hold a camera level but tilt it, so where the cameras' x axes
    (level) span a plane, up is made perpendicular to that plane, on the side of that mean."""
    mean_up = -viewmats[:, 1, :3].mean(0)  # row 1 of the rotation: camera y in world
    if np.linalg.norm(mean_up) < 1e-9:
        mean_up = np.array([0.0, -1.0, 0.0])
    mean_up = mean_up / np.linalg.norm(mean_up)
    xs = viewmats[:, 0, :3]
    values, vectors = np.linalg.eigh(xs.T @ xs)
    if values[1] < 0.05 * len(xs):  # the x axes (nearly) all alike: nothing better than the mean
        return mean_up
    level = vectors[:, 0] * (1.0 if vectors[:, 0] @ mean_up >= 0 else -1.0)
    return level if level @ mean_up > 0.5 else mean_up  # a rolled capture: keep the mean


def orbit_cameras(viewmats: Sequence[np.ndarray], Ks: Sequence[np.ndarray], sizes: Sequence[tuple[int, int]],
                  count: int, width: int, height: int, points: np.ndarray | None = None) -> list[OrbitCamera]:
    """`count` cameras evenly over one full turn around the registered cameras' target (`viewmats`:
    world-to-camera 4x4 of the registered frames, `Ks` their intrinsics, `sizes` their (width, height)),
    starting at the first camera's bearing, each looking at the target with the capture's up kept up."""
    if count < 1:
        raise ValueError("a turntable needs at least one frame")
    vm = np.asarray(viewmats, dtype=float).reshape(-1, 4, 4)
    if len(vm) == 0:
        raise ValueError("a turntable needs at least one registered camera")
    centres = _centres(vm)
    up = up_direction(vm)
    target = look_target(vm, points)

    offsets = centres - target
    distances = np.linalg.norm(offsets, axis=1)
    distance = float(distances.mean()) or 1.0
    elevation = float(np.mean(np.arcsin(np.clip((offsets @ up) / np.maximum(distances, 1e-12), -1, 1))))
    first = offsets[0] - (offsets[0] @ up) * up
    if np.linalg.norm(first) < 1e-9:  # the first camera straight above or below: any bearing will do
        first = np.cross(up, [1.0, 0.0, 0.0] if abs(up[0]) < 0.9 else [0.0, 1.0, 0.0])
    a = first / np.linalg.norm(first)
    b = np.cross(up, a)

    fx = np.median([K[0][0] * width / w for K, (w, _h) in zip(Ks, sizes, strict=True)])
    fy = np.median([K[1][1] * height / h for K, (_w, h) in zip(Ks, sizes, strict=True)])
    K = np.array([[fx, 0.0, width / 2], [0.0, fy, height / 2], [0.0, 0.0, 1.0]])

    cameras = []
    for i in range(count):
        theta = 2 * math.pi * i / count
        bearing = math.cos(theta) * a + math.sin(theta) * b
        centre = target + distance * (math.cos(elevation) * bearing + math.sin(elevation) * up)
        cameras.append(OrbitCamera(_look_at(centre, target, up), K.copy(), width, height))
    return cameras


def write_turntable(frames: Iterable[np.ndarray], path: Path, fps: int = 30, crf: int = 20) -> int:
    """Encode RGB uint8 (H, W, 3) frames as an H.264 MP4 (yuv420p, `+faststart`); an odd last row or column
    is cropped (yuv420p needs even sides). Returns the number of frames written."""
    import av

    written = 0
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = None
        for frame in frames:
            frame = np.asarray(frame)
            if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                raise ValueError(f"a turntable frame must be (H, W, 3) uint8, not {frame.shape} {frame.dtype}")
            h, w = frame.shape[0] // 2 * 2, frame.shape[1] // 2 * 2
            if stream is None:
                if h == 0 or w == 0:
                    raise ValueError("a turntable frame must be at least 2x2 pixels")
                stream = container.add_stream("libx264", rate=fps)
                stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
                stream.options = {"crf": str(crf), "preset": "medium"}
            elif (h, w) != (stream.height, stream.width):
                raise ValueError("every turntable frame must have the same size")
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:h, :w]), format="rgb24")
            for packet in stream.encode(picture):
                container.mux(packet)
            written += 1
        if stream is None:
            raise ValueError("a turntable needs at least one frame")
        for packet in stream.encode():
            container.mux(packet)
    return written


def render_turntable(render: Callable[[np.ndarray, np.ndarray, int, int], np.ndarray],
                     cameras: Sequence[OrbitCamera], path: Path, fps: int = 30) -> int:
    """Render every camera with `render(viewmat, K, width, height) -> (H, W, 3) uint8` and write the MP4."""
    return write_turntable((render(c.viewmat, c.K, c.width, c.height) for c in cameras), path, fps)


def _centres(viewmats: np.ndarray) -> np.ndarray:
    return -np.einsum("nji,nj->ni", viewmats[:, :3, :3], viewmats[:, :3, 3])


def _look_at(centre: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """World-to-camera 4x4: camera +z towards `target`, camera -y as close to `up` as it can be."""
    z = target - centre
    z = z / np.linalg.norm(z)
    x = np.cross(-up, z)
    if np.linalg.norm(x) < 1e-9:  # looking straight along up: any roll will do
        x = np.cross(z, [1.0, 0.0, 0.0] if abs(z[0]) < 0.9 else [0.0, 1.0, 0.0])
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    rotation = np.stack([x, y, z])  # rows: camera axes in world (camera-from-world rotation)
    viewmat = np.eye(4)
    viewmat[:3, :3], viewmat[:3, 3] = rotation, -rotation @ centre
    return viewmat

"""A CPU stand-in for the splat rasterizer: the rendered scene's box as a coloured point cloud (the sparse
cloud structure from motion would find on it), drawn through a pinhole camera with numpy."""

import numpy as np

from tests.support.scene3d import BOX


def box_points(count: int = 4000, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Points on the scene's box (its sparse cloud, as structure from motion would find it), coloured by face
    and position so the box looks different from every side."""
    rng = np.random.default_rng(seed)
    points = rng.uniform(-BOX, BOX, (count, 3))
    axis = rng.integers(0, 3, count)
    points[np.arange(count), axis] = rng.choice([-BOX, BOX], count)
    face = axis * 2 + (points[np.arange(count), axis] > 0)
    palette = np.array([[230, 40, 40], [40, 200, 60], [50, 80, 230], [240, 220, 40], [200, 60, 220], [40, 220, 220]])
    shade = 0.55 + 0.45 * (points[np.arange(count), (axis + 1) % 3] + BOX) / (2 * BOX)
    colours = (palette[face] * shade[:, None]).astype(np.uint8)
    return points, colours


def point_renderer(points: np.ndarray, colours: np.ndarray, radius: int = 2):
    """render(viewmat, K, width, height): the points projected with K and the view matrix, painted far to
    near as small squares on black."""
    def render(viewmat, K, width, height):
        cam = points @ viewmat[:3, :3].T + viewmat[:3, 3]
        front = cam[:, 2] > 1e-6
        cam, rgb = cam[front], colours[front]
        uv = (cam @ K.T)[:, :2] / cam[:, 2:3]
        order = np.argsort(-cam[:, 2])
        image = np.zeros((height, width, 3), np.uint8)
        for (u, v), c in zip(uv[order].astype(int), rgb[order], strict=True):
            if -radius <= u < width + radius and -radius <= v < height + radius:
                image[max(0, v - radius):v + radius + 1, max(0, u - radius):u + radius + 1] = c
        return image
    return render

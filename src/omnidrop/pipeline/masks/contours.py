"""Binary instance masks to polygons: connected components and their outer boundary (Moore tracing).

numpy only (no OpenCV): masks come from a model's output grid, typically a few hundred pixels a
side, so the Python loop over boundary pixels is cheap.
"""

from __future__ import annotations

import numpy as np

# Moore neighbourhood, clockwise from west (x, y offsets; y grows downwards).
_NEIGHBOURS = [(-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1)]


def components(mask: np.ndarray) -> list[np.ndarray]:
    """Boolean masks of the 8-connected components of `mask`, largest first."""
    labels = np.zeros(mask.shape, dtype=np.int32)
    found: list[np.ndarray] = []
    h, w = mask.shape
    for y0, x0 in zip(*np.nonzero(mask)):
        if labels[y0, x0]:
            continue
        n = len(found) + 1
        labels[y0, x0] = n
        stack = [(y0, x0)]
        while stack:
            y, x = stack.pop()
            for dx, dy in _NEIGHBOURS:
                yy, xx = y + dy, x + dx
                if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not labels[yy, xx]:
                    labels[yy, xx] = n
                    stack.append((yy, xx))
        found.append(labels == n)
    return sorted(found, key=lambda c: -int(c.sum()))


def trace(component: np.ndarray) -> list[tuple[int, int]]:
    """The outer boundary pixels of one component, clockwise from its top-left pixel."""
    padded = np.pad(component, 1)
    ys, xs = np.nonzero(padded)
    start = (int(xs[np.argmin(ys * padded.shape[1] + xs)]), int(ys.min()))
    ring = [start]
    current, came_from = start, 0  # we entered the start pixel from the west
    while True:
        for k in range(8):
            d = (came_from + k) % 8
            nx, ny = current[0] + _NEIGHBOURS[d][0], current[1] + _NEIGHBOURS[d][1]
            if padded[ny, nx]:
                came_from = (d + 6) % 8  # back two steps: resume beside the pixel we came from
                current = (nx, ny)
                break
        else:
            break  # an isolated pixel
        if current == start:
            break
        ring.append(current)
        if len(ring) > 4 * padded.size:  # cannot happen on a finite mask; a guard against a bug looping
            break
    return [(x - 1, y - 1) for x, y in ring]


def simplify(ring: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Drop points that lie on a straight run between their neighbours."""
    if len(ring) < 4:
        return ring
    kept = []
    for i, p in enumerate(ring):
        a, b = ring[i - 1], ring[(i + 1) % len(ring)]
        if (p[0] - a[0]) * (b[1] - p[1]) != (p[1] - a[1]) * (b[0] - p[0]):
            kept.append(p)
    return kept or ring


def polygons(mask: np.ndarray, scale_x: float, scale_y: float, min_pixels: int = 4) -> list[list[list[float]]]:
    """Rings in output coordinates: pixel centres of `mask` scaled by (scale_x, scale_y)."""
    rings = []
    for component in components(mask):
        if component.sum() < min_pixels:
            continue
        ring = simplify(trace(component))
        rings.append([[round((x + 0.5) * scale_x, 1), round((y + 0.5) * scale_y, 1)] for x, y in ring])
    return rings

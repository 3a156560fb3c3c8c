"""Write any streamed point cloud as COPC (a LAZ 1.4 file whose chunks are octree nodes), flat in memory.

1. Spool: the reader's chunks go to a temporary file of fixed records while bounds and counts are
   kept; nothing else is held.
2. Octree, out of core: a node with more than `CHUNK_MAX` points is split by streaming its file into
   eight child files; a node that fits is built in memory (split until `LEAF_MAX`).
3. Levels of detail, bottom up: every inner node takes one point per cell of a `GRID`³ grid over its
   cube (at most `NODE_MAX`) from what its children still hold, so each point is stored once and a
   viewer that reads the root first sees the whole cloud coarsely, then finer nodes as it goes down.

What is in memory at once is one in-memory subtree (≤ `CHUNK_MAX` points) plus the sampled points
waiting along the current path (≤ 8 × `NODE_MAX` per level), whatever the input's size.
copclib writes the file: LAS 1.4 point format 7 (XYZ, intensity, RGB; `point_source_id` = E57 scan).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omnidrop.pipeline.pointclouds.readers import POINT, CloudError

GRID = 128  # cells per axis a node samples on: the root's spacing is its cube edge / GRID
LEAF_MAX = 100_000  # points a node keeps without splitting
NODE_MAX = 100_000  # most points one inner node takes from its children
CHUNK_MAX = 2_000_000  # most points built in memory at once
MAX_DEPTH = 21  # below this a node keeps everything (duplicate points cannot split further)
READ_BLOCK = 1_000_000


@dataclass(frozen=True)
class CopcResult:
    points: int
    nodes: int
    depth: int
    bounds: tuple[tuple[float, float, float], tuple[float, float, float]]  # (min xyz, max xyz)
    scale: float


@dataclass(frozen=True)
class _Key:
    d: int
    x: int
    y: int
    z: int

    def child(self, i: int) -> _Key:
        return _Key(self.d + 1, 2 * self.x + (i & 1), 2 * self.y + ((i >> 1) & 1), 2 * self.z + ((i >> 2) & 1))


def write_copc(chunks: Iterable[np.ndarray], out: Path, *, scale: float | None = None, wkt: str = "",
               workdir: Path | None = None, progress: Callable[[float], None] | None = None) -> CopcResult:
    """Write the points of `chunks` (arrays of readers.POINT) to `out` as COPC."""
    tmp = Path(tempfile.mkdtemp(prefix="omnidrop-copc-", dir=workdir))
    try:
        spool = tmp / "root.bin"
        # The coordinate step: the input's own (LAS), else 0.1 mm. Points are snapped to it before
        # anything else, so a node's points are where the file says they are, not a rounding away.
        scale = scale or 1e-4
        count, lo, hi = _spool(chunks, spool, scale)
        if count == 0:
            raise CloudError("the file holds no points")
        builder = _Builder(out, tmp, lo, hi, count, scale, wkt, progress)
        return builder.run(spool)
    finally:
        for p in tmp.glob("*"):
            p.unlink(missing_ok=True)
        tmp.rmdir()


def _spool(chunks: Iterable[np.ndarray], path: Path, scale: float) -> tuple[int, np.ndarray, np.ndarray]:
    count, lo, hi = 0, np.full(3, np.inf), np.full(3, -np.inf)
    with open(path, "wb") as f:
        for chunk in chunks:
            chunk = np.array(chunk, dtype=POINT)  # a copy: the reader's buffers are not ours to change
            for axis in "xyz":
                chunk[axis] = np.round(chunk[axis] / scale) * scale
            xyz = np.stack([chunk["x"], chunk["y"], chunk["z"]], axis=1)
            finite = np.isfinite(xyz).all(axis=1)
            if not finite.all():
                chunk, xyz = chunk[finite], xyz[finite]
            if not len(chunk):
                continue
            lo, hi = np.minimum(lo, xyz.min(axis=0)), np.maximum(hi, xyz.max(axis=0))
            chunk.tofile(f)
            count += len(chunk)
    return count, lo, hi


class _Builder:
    def __init__(self, out: Path, tmp: Path, lo: np.ndarray, hi: np.ndarray, count: int, scale: float,
                 wkt: str, progress: Callable[[float], None] | None) -> None:
        import copclib
        import laspy

        self.copc, self.tmp, self.total, self.progress = copclib, tmp, count, progress
        self.lo, self.hi = lo, hi
        self.half = max(float((hi - lo).max()) / 2, 1e-3) * (1 + 1e-9) + 1e-9
        # The cube starts at the minimum corner, as copclib's own node boxes assume (header min + span).
        self.center = lo + self.half
        # Coarser than asked only where int32 coordinates need it (a cloud over 100 km across at 0.1 mm).
        step = scale
        while self.half / step > 2**30:
            step *= 10
        self.scale = step
        self.offset = np.round(self.center / step) * step
        self.record = laspy.PointFormat(7).dtype()
        cfg = copclib.CopcConfigWriter(7, copclib.Vector3(step, step, step),
                                       copclib.Vector3(*map(float, self.offset)), wkt or "")
        info = cfg.copc_info
        info.center_x, info.center_y, info.center_z = map(float, self.center)
        info.halfsize = self.half
        info.spacing = 2 * self.half / GRID
        hdr = cfg.las_header
        hdr.min = copclib.Vector3(*map(float, lo))
        hdr.max = copclib.Vector3(*map(float, hi))
        self.out = out
        out.unlink(missing_ok=True)
        self.writer = copclib.FileWriter(str(out), cfg)
        self.written = self.nodes = self.depth = 0
        self.files = 0

    def run(self, spool: Path) -> CopcResult:
        try:
            root = _Key(0, 0, 0, 0)
            rest = self._process(root, spool, self.total)
            self._write(root, rest)
            self.writer.Close()
        except BaseException:
            try:
                self.writer.Close()
            finally:
                self.out.unlink(missing_ok=True)
            raise
        return CopcResult(self.written, self.nodes, self.depth,
                          (tuple(map(float, self.lo)), tuple(map(float, self.hi))), self.scale)

    # --- geometry -------------------------------------------------------------------------------

    def _cube(self, key: _Key) -> tuple[np.ndarray, float]:
        size = 2 * self.half / (1 << key.d)
        return self.center - self.half + np.array([key.x, key.y, key.z]) * size, size

    def _child_index(self, key: _Key, pts: np.ndarray) -> np.ndarray:
        lo, size = self._cube(key)
        mid = lo + size / 2
        return ((pts["x"] >= mid[0]).astype(np.uint8) | ((pts["y"] >= mid[1]).astype(np.uint8) << 1)
                | ((pts["z"] >= mid[2]).astype(np.uint8) << 2))

    # --- octree ---------------------------------------------------------------------------------

    def _process(self, key: _Key, path: Path, n: int) -> np.ndarray:
        """Everything below `key` written; returns the points `key` itself holds for now."""
        if n <= CHUNK_MAX or key.d >= MAX_DEPTH:
            pts = np.fromfile(path, POINT)
            path.unlink()
            return self._build(key, pts)
        counts, paths = self._distribute(key, path)
        kept = []
        for i in range(8):
            if counts[i]:
                kept.append((key.child(i), self._process(key.child(i), paths[i], int(counts[i]))))
        return self._promote(key, kept)

    def _distribute(self, key: _Key, path: Path) -> tuple[np.ndarray, list[Path]]:
        self.files += 1
        paths = [self.tmp / f"n{self.files}-{i}.bin" for i in range(8)]
        counts = np.zeros(8, np.int64)
        outs = [open(p, "wb") for p in paths]
        try:
            with open(path, "rb") as f:
                while len(block := np.fromfile(f, POINT, READ_BLOCK)):
                    idx = self._child_index(key, block)
                    order = np.argsort(idx, kind="stable")
                    block, idx = block[order], idx[order]
                    bounds = np.searchsorted(idx, np.arange(9))
                    for i in range(8):
                        if bounds[i + 1] > bounds[i]:
                            block[bounds[i]:bounds[i + 1]].tofile(outs[i])
                            counts[i] += bounds[i + 1] - bounds[i]
        finally:
            for o in outs:
                o.close()
        path.unlink()
        return counts, paths

    def _build(self, key: _Key, pts: np.ndarray) -> np.ndarray:
        if len(pts) <= LEAF_MAX or key.d >= MAX_DEPTH:
            return pts
        idx = self._child_index(key, pts)
        order = np.argsort(idx, kind="stable")
        pts, idx = pts[order], idx[order]
        bounds = np.searchsorted(idx, np.arange(9))
        kept = []
        for i in range(8):
            if bounds[i + 1] > bounds[i]:
                kept.append((key.child(i), self._build(key.child(i), pts[bounds[i]:bounds[i + 1]])))
        del pts
        return self._promote(key, kept)

    def _promote(self, key: _Key, kept: list[tuple[_Key, np.ndarray]]) -> np.ndarray:
        """Sample `key`'s points from what its children hold; write each child with the rest."""
        cand = np.concatenate([r for _, r in kept])
        lo, size = self._cube(key)
        cells = np.empty((len(cand), 3), np.int64)
        for axis, name in enumerate("xyz"):
            cells[:, axis] = np.clip(((cand[name] - lo[axis]) * (GRID / size)).astype(np.int64), 0, GRID - 1)
        voxel = (cells[:, 0] * GRID + cells[:, 1]) * GRID + cells[:, 2]
        _, first = np.unique(voxel, return_index=True)
        if len(first) > NODE_MAX:
            first = first[np.linspace(0, len(first) - 1, NODE_MAX).astype(np.int64)]
        take = np.zeros(len(cand), bool)
        take[first] = True
        start = 0
        for child, r in kept:
            end = start + len(r)
            rest = r[~take[start:end]]
            if len(rest):
                self._write(child, rest)
            start = end
        return cand[take]

    def _write(self, key: _Key, pts: np.ndarray) -> None:
        if not len(pts):
            return
        rec = np.zeros(len(pts), self.record)
        for name, axis in (("X", "x"), ("Y", "y"), ("Z", "z")):
            i = "xyz".index(axis)
            rec[name] = np.rint((pts[axis] - self.offset[i]) / self.scale).astype(np.int32)
        rec["intensity"] = pts["intensity"]
        rec["bit_fields"] = 0x11  # return 1 of 1
        rec["point_source_id"] = pts["scan"]
        rec["red"], rec["green"], rec["blue"] = pts["red"], pts["green"], pts["blue"]
        self.writer.AddNode(self.copc.VoxelKey(key.d, key.x, key.y, key.z), self.copc.VectorChar(rec.view(np.int8)))
        self.nodes += 1
        self.depth = max(self.depth, key.d)
        self.written += len(pts)
        if self.progress is not None:
            self.progress(min(1.0, self.written / self.total))


def peak_rss_mib() -> float:
    """This process's peak resident memory (Linux ru_maxrss is KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024



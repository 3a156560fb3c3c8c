"""The out-of-core COPC writer: every point once, a valid octree, the same file on a re-run."""

from pathlib import Path

import laspy
import numpy as np
import pytest

from omnidrop.pipeline.pointclouds import copc
from omnidrop.pipeline.pointclouds.readers import POINT, CloudError
from tests.pipeline.pointclouds.samples import helix


def cloud(n: int, seed: int = 0) -> np.ndarray:
    pts = np.zeros(n, POINT)
    xyz = helix(n, seed) + [1000, 2000, 30]
    pts["x"], pts["y"], pts["z"] = xyz.T
    pts["intensity"] = np.arange(n) % 60000
    pts["red"] = 65535
    pts["scan"] = np.arange(n) % 3
    return pts


def chunks(pts: np.ndarray, size: int = 7000):
    for i in range(0, len(pts), size):
        yield pts[i:i + size]


def test_every_point_lands_once_in_a_copc_octree(tmp_path, monkeypatch):
    # Small limits so 60k points take both paths: spilled to child files, then built in memory.
    monkeypatch.setattr(copc, "CHUNK_MAX", 20_000)
    monkeypatch.setattr(copc, "LEAF_MAX", 3_000)
    monkeypatch.setattr(copc, "NODE_MAX", 2_000)
    monkeypatch.setattr(copc, "READ_BLOCK", 5_000)
    pts = cloud(60_000)
    out = tmp_path / "a.copc.laz"
    result = copc.write_copc(chunks(pts), out, scale=0.001, workdir=tmp_path)
    assert result.points == 60_000 and result.depth >= 2 and result.nodes > 9

    with laspy.CopcReader.open(out) as reader:
        info = reader.copc_info
        assert reader.header.point_count == 60_000
        assert np.allclose(reader.header.mins, [pts["x"].min(), pts["y"].min(), pts["z"].min()], atol=1e-3)
        assert np.allclose(reader.header.maxs, [pts["x"].max(), pts["y"].max(), pts["z"].max()], atol=1e-3)
        root = reader.query(level=0)
        assert 0 < len(root) <= 2_000  # the root is a coarse sample, not everything
        everything = reader.query()
    assert len(everything) == 60_000
    got = np.sort(np.round(np.asarray(everything.x) * 1000).astype(np.int64))
    want = np.sort(np.round(pts["x"] * 1000).astype(np.int64))
    assert np.array_equal(got, want)
    assert sorted(set(np.asarray(everything.point_source_id).tolist())) == [0, 1, 2]
    assert int(np.asarray(everything.red).min()) == 65535
    assert info.halfsize > 0 and info.spacing == pytest.approx(2 * info.halfsize / copc.GRID)
    # copclib's own check: every node's points lie inside that node's octree cube.
    import copclib

    check = copclib.FileReader(str(out))
    assert check.ValidateSpatialBounds() and check.GetMaxDepth() == result.depth
    assert len(check.GetAllNodes()) == result.nodes
    check.Close()

    again = tmp_path / "b.copc.laz"
    copc.write_copc(chunks(pts), again, scale=0.001, workdir=tmp_path)
    assert again.read_bytes() == out.read_bytes()  # deterministic: a re-run writes the same file
    assert list(tmp_path.glob("omnidrop-copc-*")) == []  # its spool files are gone


def test_no_points_is_an_error(tmp_path):
    with pytest.raises(CloudError, match="no points"):
        copc.write_copc(iter([np.zeros(0, POINT)]), tmp_path / "x.laz")
    assert not (tmp_path / "x.laz").exists()


def test_identical_points_stop_at_the_depth_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(copc, "LEAF_MAX", 10)
    monkeypatch.setattr(copc, "MAX_DEPTH", 4)
    pts = np.zeros(500, POINT)
    result = copc.write_copc(iter([pts]), tmp_path / "same.laz")
    assert result.points == 500 and result.depth <= 4
    assert len(laspy.read(tmp_path / "same.laz").points) == 500


def test_a_reader_failing_midway_leaves_no_file(tmp_path):
    def broken():
        yield cloud(100)
        raise CloudError("truncated")

    with pytest.raises(CloudError, match="truncated"):
        copc.write_copc(broken(), tmp_path / "x.laz")
    assert not Path(tmp_path / "x.laz").exists()

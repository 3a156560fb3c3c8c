"""A tiny synthetic Gaussian set written as the standard 3DGS PLY and as SPZ (gsply), read back by plyfile
and gsply; and as the sogs-sh0 profile by the pinned splat-transform CLI (a zip of meta.json and five WebP
textures, spherical harmonics cut to band 0)."""

import json
import zipfile

import gsply
import numpy as np
import pytest
from plyfile import PlyData

from omnidrop.pipeline.training.writers import (
    SOG_FILES, Splat, WriterError, splat_transform_command, write_ply, write_sogs_sh0, write_spz,
)

N = 300


@pytest.fixture(scope="module")
def splat():
    rng = np.random.default_rng(11)
    quats = rng.normal(size=(N, 4))
    return Splat(means=rng.uniform(-1, 1, (N, 3)), scales=rng.uniform(-5, -2, (N, 3)), quats=quats,
                 opacities=rng.normal(size=N), sh0=rng.normal(scale=0.5, size=(N, 3)),
                 shN=rng.normal(scale=0.05, size=(N, 15, 3)))


def test_the_ply_is_the_standard_3dgs_layout(splat, tmp_path):
    write_ply(splat, tmp_path / "s.ply")
    vertex = PlyData.read(str(tmp_path / "s.ply"))["vertex"]
    names = [p.name for p in vertex.properties]
    assert names[:3] == ["x", "y", "z"]
    assert {f"f_dc_{i}" for i in range(3)} | {f"f_rest_{i}" for i in range(45)} | {"opacity"} \
        | {f"scale_{i}" for i in range(3)} | {f"rot_{i}" for i in range(4)} <= set(names)
    assert vertex.count == N
    assert np.allclose(vertex["x"], splat.means[:, 0], atol=1e-6)
    assert np.allclose(vertex["scale_1"], splat.scales[:, 1], atol=1e-6)  # log scales, as stored
    unit = splat.quats / np.linalg.norm(splat.quats, axis=1, keepdims=True)
    assert np.allclose(vertex["rot_0"], unit[:, 0], atol=1e-6)  # w first
    back = gsply.plyread(tmp_path / "s.ply")
    assert np.allclose(back.shN, splat.shN, atol=1e-6) and np.allclose(back.opacities, splat.opacities, atol=1e-6)


def test_the_spz_reads_back_within_its_quantisation(splat, tmp_path):
    write_spz(splat, tmp_path / "s.spz")
    back = gsply.read_spz(tmp_path / "s.spz")
    assert len(back.means) == N
    assert np.abs(back.means - splat.means).max() < 1e-3  # 12 fractional bits
    assert np.abs(back.scales - splat.scales).max() < 0.1


def test_sogs_sh0_is_a_zip_of_meta_json_and_five_webp_textures(splat, tmp_path):
    write_ply(splat, tmp_path / "s.ply")
    names = write_sogs_sh0(tmp_path / "s.ply", tmp_path / "sogs.zip", splat_transform_command())
    assert sorted(names) == sorted(SOG_FILES)
    with zipfile.ZipFile(tmp_path / "sogs.zip") as zf:
        assert sorted(zf.namelist()) == sorted(SOG_FILES)
        meta = json.loads(zf.read("meta.json"))
        assert all(zf.read(n)[:4] == b"RIFF" for n in SOG_FILES if n.endswith(".webp"))
    assert meta["count"] == N and "shN" not in meta


def test_a_failing_cli_is_an_error_with_its_reason(splat, tmp_path):
    (tmp_path / "broken.ply").write_bytes(b"ply\nnot really\n")
    with pytest.raises(WriterError, match="splat-transform failed"):
        write_sogs_sh0(tmp_path / "broken.ply", tmp_path / "x.zip", splat_transform_command())


def test_non_finite_gaussians_are_dropped(splat):
    broken = Splat(*(a.copy() for a in (splat.means, splat.scales, splat.quats, splat.opacities, splat.sh0, splat.shN)))
    broken.means[3, 1] = np.nan
    broken.shN[7, 2, 0] = np.inf
    assert len(broken.finite()) == N - 2


def test_the_aabb_leaves_out_floaters(splat):
    """1st to 99th percentile of the centres: a few Gaussians far off (a trained splat's floaters) do not
    stretch it, where a min/max box would take them in."""
    far = Splat(*(a.copy() for a in (splat.means, splat.scales, splat.quats, splat.opacities, splat.sh0, splat.shN)))
    far.means[:2] = [[500.0, -400.0, 300.0]] * 2  # under 1 % of the 300
    aabb = far.aabb()
    inner = np.percentile(far.means, [1, 99], axis=0)
    assert np.allclose(aabb["min"], inner[0]) and np.allclose(aabb["max"], inner[1])
    assert np.all(np.abs(aabb["min"]) < 50) and np.all(np.abs(aabb["max"]) < 50)
    empty = Splat(*(a[:0] for a in (splat.means, splat.scales, splat.quats, splat.opacities, splat.sh0, splat.shN)))
    assert empty.aabb() is None  # the spec's null, not a made-up box at the origin

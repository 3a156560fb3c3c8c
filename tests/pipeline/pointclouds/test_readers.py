"""Readers: each format streams in chunks into one record layout, with its facts (CRS, scans)."""

import laspy
import numpy as np
import pytest

from omnidrop.pipeline.pointclouds import readers
from omnidrop.pipeline.pointclouds.readers import CloudError, open_cloud
from tests.pipeline.pointclouds import samples


def read_all(cloud) -> np.ndarray:
    return np.concatenate(list(cloud.chunks()))


@pytest.mark.parametrize("compressed", [False, True])
def test_las_and_laz_in_chunks_with_colour_intensity_and_crs(tmp_path, monkeypatch, compressed):
    monkeypatch.setattr(readers, "CHUNK", 1000)
    path = samples.las(tmp_path / ("a.laz" if compressed else "a.las"), 4500, compressed=compressed)
    cloud = open_cloud(path, "laz" if compressed else "las")
    assert cloud.info.points == 4500 and cloud.info.has_color and cloud.info.has_intensity
    assert cloud.info.crs["epsg"] == 32632 and "UTM zone 32N" in cloud.info.crs["wkt"]
    assert cloud.info.scale == 0.001
    chunks = list(cloud.chunks())
    assert [len(c) for c in chunks] == [1000] * 4 + [500]
    pts = np.concatenate(chunks)
    src = laspy.read(path)
    assert np.allclose(pts["x"], src.x) and np.array_equal(pts["intensity"], src.intensity)
    assert np.array_equal(pts["green"], src.green) and (pts["red"] == 65535).all()


def test_las_geotiff_keys_give_the_epsg(tmp_path):
    h = laspy.LasHeader(point_format=3, version="1.2")
    keys = laspy.vlrs.known.GeoKeyDirectoryVlr()
    keys.geo_keys_header.number_of_keys = 1
    entry = laspy.vlrs.geotiff.GeoKeyEntryStruct()
    entry.id, entry.tiff_tag_location, entry.count, entry.value_offset = 3072, 0, 1, 2056
    keys.geo_keys = [entry]
    h.vlrs.append(keys)
    data = laspy.LasData(h)
    data.x, data.y, data.z = [1.0, 2.0], [3.0, 4.0], [5.0, 6.0]
    data.write(tmp_path / "g.las")
    assert open_cloud(tmp_path / "g.las", "las").info.crs == {"epsg": 2056}


def test_e57_two_scans_in_global_coordinates_with_poses(tmp_path):
    cloud = open_cloud(samples.e57(tmp_path / "s.e57", 800), "e57")
    scans = cloud.info.scans
    assert [s["points"] for s in scans] == [800, 800] and [s["name"] for s in scans] == ["Scan 0", "Scan 1"]
    assert scans[1]["position"] == [10.0, 0.0, 0.0] and scans[1]["rotation"][0] == pytest.approx(0.7071, abs=1e-4)
    pts = read_all(cloud)
    first, second = pts[pts["scan"] == 0], pts[pts["scan"] == 1]
    raw = samples.helix(800, 11)
    # Scan 1 is turned 90° about z, then moved 10 m along x: (x, y) -> (10 - y, x).
    assert np.allclose(second["x"], 10 - raw[:, 1], atol=1e-5) and np.allclose(second["y"], raw[:, 0], atol=1e-5)
    assert np.allclose(first["x"], samples.helix(800, 10)[:, 0], atol=1e-5)
    assert (pts["red"] == 65535).all() and (second["green"] == 128 * 257).all()
    assert pts["intensity"].max() > 60000  # scaled from the scan's intensity limits to 16 bits


def test_ply_binary_and_ascii(tmp_path):
    for binary in (True, False):
        cloud = open_cloud(samples.ply(tmp_path / f"p{binary}.ply", 900, binary=binary), "ply")
        pts = read_all(cloud)
        assert len(pts) == 900 and cloud.info.has_color
        assert np.allclose(pts["z"], samples.helix(900, 2)[:, 2].astype(np.float32), atol=1e-3)
        assert (pts["red"] == 200 * 257).all()


def test_xyz_and_pts_text(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "CHUNK", 100)
    xyz = read_all(open_cloud(samples.xyz(tmp_path / "a.xyz", 700), "xyz"))
    assert len(xyz) == 700 and (xyz["blue"] == 32 * 257).all()
    assert np.allclose(xyz["y"], samples.helix(700, 3)[:, 1], atol=1e-4)
    pts_cloud = open_cloud(samples.pts(tmp_path / "a.pts", 600), "pts")
    pts = read_all(pts_cloud)
    assert pts_cloud.info.points == 600 and pts_cloud.info.has_intensity and len(pts) == 600
    assert pts["intensity"][0] == round((0 - 2000 + 2048) * 65535 / 4095)


def test_pcd_ascii_and_binary(tmp_path):
    head = "VERSION 0.7\nFIELDS x y z rgb\nSIZE 4 4 4 4\nTYPE F F F F\nCOUNT 1 1 1 1\nWIDTH 3\nHEIGHT 1\nPOINTS 3\n"
    rgb = np.array([0x00FF8000] * 3, np.uint32).view(np.float32)
    rec = np.zeros(3, [("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("rgb", "<f4")])
    rec["x"], rec["rgb"] = [1, 2, 3], rgb
    (tmp_path / "b.pcd").write_bytes((head + "DATA binary\n").encode() + rec.tobytes())
    pts = read_all(open_cloud(tmp_path / "b.pcd", "pcd"))
    assert pts["x"].tolist() == [1, 2, 3] and (pts["red"] == 255 * 257).all() and (pts["green"] == 128 * 257).all()
    (tmp_path / "a.pcd").write_text(head.replace(" rgb", "").replace("SIZE 4 4 4 4", "SIZE 4 4 4").replace("TYPE F F F F", "TYPE F F F").replace("COUNT 1 1 1 1", "COUNT 1 1 1")
                                    + "DATA ascii\n1 2 3\n4 5 6\n7 8 9\n")
    assert read_all(open_cloud(tmp_path / "a.pcd", "pcd"))["z"].tolist() == [3, 6, 9]


@pytest.mark.parametrize("fmt,body", [
    ("las", b"LASF" + b"\x00" * 300),
    ("e57", b"ASTM-E57" + b"\x00" * 100),
    ("ply", b"ply\nformat binary_little_endian 1.0\nelement vertex 100\nproperty float x\nproperty float y\nproperty float z\nend_header\n" + b"\x00" * 12),
    ("xyz", b"not numbers at all\n"),
])
def test_corrupt_files_raise_cloud_error(tmp_path, fmt, body):
    path = tmp_path / f"bad.{fmt}"
    path.write_bytes(body)
    with pytest.raises(CloudError):
        cloud = open_cloud(path, fmt)
        read_all(cloud)


def test_truncated_laz_raises_cloud_error(tmp_path):
    path = samples.las(tmp_path / "t.laz", 20000, compressed=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CloudError):
        read_all(open_cloud(path, "laz"))

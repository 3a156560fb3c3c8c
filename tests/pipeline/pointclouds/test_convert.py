"""One file to COPC plus details; an E57's panoramas as JPEGs; a re-run gives the same outputs."""

import laspy
import numpy as np
from PIL import Image

from omnidrop.pipeline.pointclouds.convert import COPC_NAME, convert_cloud
from tests.pipeline.pointclouds import samples


def test_e57_with_two_scans_and_a_panorama(tmp_path):
    src = samples.e57(tmp_path / "site.e57", 1000)
    got = convert_cloud(src, "e57", tmp_path / "out")
    d = got.details
    assert d["points"] == 2000 and d["color"] and d["intensity"] and d["crs"] is None
    assert [s["position"] for s in d["scans"]] == [[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]]
    assert d["lod"]["format"] == "copc" and d["lod"]["nodes"] >= 1
    (pano,) = d["panoramas"]
    assert pano == {"role": "panorama_0001", "projection": "spherical", "name": "Pano 1", "width": 256, "height": 128,
                    "scan": 1, "position": [10.0, 0.0, 1.5], "rotation": [1.0, 0.0, 0.0, 0.0]}
    assert [p.name for p in got.panoramas] == ["panorama_0001.jpg"]
    with Image.open(got.panoramas[0]) as im:
        assert im.format == "JPEG" and im.size == (256, 128)

    las = laspy.read(got.copc)
    assert len(las.points) == 2000 and sorted(set(np.asarray(las.point_source_id).tolist())) == [0, 1]
    lo, hi = d["bounds"]["min"], d["bounds"]["max"]
    assert np.allclose(lo, las.header.mins, atol=1e-3) and np.allclose(hi, las.header.maxs, atol=1e-3)
    assert hi[0] > 19.9  # the second scan's points moved 10 m along x by its pose

    first = got.copc.read_bytes()
    again = convert_cloud(src, "e57", tmp_path / "out")  # a re-run into the same folder
    assert again.details == d and again.copc.read_bytes() == first
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [COPC_NAME, "panorama_0001.jpg"]


def test_las_keeps_its_crs_in_the_copc(tmp_path):
    got = convert_cloud(samples.las(tmp_path / "a.las", 3000), "las", tmp_path / "out")
    assert got.details["crs"]["epsg"] == 32632 and got.details["points"] == 3000
    header = laspy.read(got.copc).header
    (wkt,) = [v for v in header.evlrs if isinstance(v, laspy.vlrs.known.WktCoordinateSystemVlr)]
    assert "UTM zone 32N" in wkt.string and header.global_encoding.wkt
    assert header.scales.tolist() == [0.001, 0.001, 0.001]


def test_e57_without_images_has_no_panoramas(tmp_path):
    got = convert_cloud(samples.e57(tmp_path / "plain.e57", 300, panorama=False), "e57", tmp_path / "out")
    assert "panoramas" not in got.details and got.panoramas == []

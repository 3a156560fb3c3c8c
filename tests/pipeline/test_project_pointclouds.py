"""Projects: every point cloud gets a COPC copy, its facts in `details`, E57 panoramas as assets; a
corrupt cloud gets its own error and the other files are unaffected."""

import io

import httpx
import laspy
import pytest
from PIL import Image

from tests.pipeline.pointclouds import samples
from tests.support import projects

BIG = 2_000_000  # a few million points: the octree gets split and thinned for real


@pytest.fixture(scope="module")
def live(servers, db_url):
    return servers.start(database_url=db_url)


def test_point_clouds_become_copc_with_details_and_a_bad_one_fails_alone(live, tmp_path):
    files = {
        "big.laz": samples.las(tmp_path / "big.laz", BIG, compressed=True),
        "site.e57": samples.e57(tmp_path / "site.e57", 2000),
        "scan.ply": samples.ply(tmp_path / "scan.ply", 3000),
        "points.xyz": samples.xyz(tmp_path / "points.xyz", 2000),
        "leica.pts": samples.pts(tmp_path / "leica.pts", 1000),
        "broken.las": b"LASF" + bytes(400),
    }
    headers = live.headers()
    sid = projects.upload(live.api, headers, files)
    assert projects.create(live.api, headers, upload_id=sid).status_code == 201
    record = projects.wait(live.api, headers, sid, timeout=180)
    assert record["state"] == "ready"
    got = {f["name"]: f for f in record["files"]}

    big = got["big.laz"]
    assert big["type"] == "point_cloud" and set(big["assets"]) == {"copc"}
    d = big["details"]
    assert d["points"] == BIG and d["crs"]["epsg"] == 32632 and d["color"] and d["intensity"]
    assert d["lod"]["depth"] >= 1 and d["bounds"]["min"][0] == pytest.approx(500089.9, abs=0.2)
    # The COPC asset answers range requests, as the viewer reads it.
    url = big["assets"]["copc"]
    head = httpx.get(url, headers={**headers, "Range": "bytes=0-374"})
    assert head.status_code == 206 and head.content[:4] == b"LASF" and len(head.content) == 375
    copc = tmp_path / "big.copc.laz"
    copc.write_bytes(httpx.get(url, headers=headers, timeout=60).content)
    with laspy.CopcReader.open(copc) as reader:
        assert reader.header.point_count == BIG and len(reader.query(level=0)) < BIG

    site = got["site.e57"]
    assert set(site["assets"]) == {"copc", "panorama_0001"}
    assert [s["position"] for s in site["details"]["scans"]] == [[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]]
    assert site["details"]["panoramas"][0]["scan"] == 1
    pano = httpx.get(site["assets"]["panorama_0001"], headers=headers)
    assert pano.status_code == 200 and Image.open(io.BytesIO(pano.content)).size == (256, 128)

    for name, points in (("scan.ply", 3000), ("points.xyz", 2000), ("leica.pts", 1000)):
        assert got[name]["details"]["points"] == points and "copc" in got[name]["assets"], got[name]

    broken = got["broken.las"]
    assert broken["type"] == "point_cloud" and broken["assets"] == {}
    assert broken["details"]["error"] == "unreadable_point_cloud" and broken["details"]["error_message"]

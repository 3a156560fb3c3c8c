"""The point-cloud viewer (web/src/views/pointcloud.ts) in Debian's chromium: it streams the COPC a
project made of a LAZ and of an E57, draws it, turns when dragged, and says so when a cloud failed.
Screenshots in test-artifacts/web/pointcloud-*.png."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from omnidrop.web.static import DEFAULT_DIST
from tests.pipeline.pointclouds import samples
from tests.support import projects

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("pointcloud.mjs")
ARTIFACTS = ROOT / "test-artifacts" / "web"

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def live(servers):
    assert (DEFAULT_DIST / "index.html").is_file(), "web app not built: scripts/test runs ensure_web_assets"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return servers.start(fsync=False)


@pytest.fixture(scope="module")
def project(live, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clouds")
    headers = live.headers()
    sid = projects.upload(live.api, headers, {
        "city.laz": samples.las(tmp / "city.laz", 200_000, compressed=True),
        "site.e57": samples.e57(tmp / "site.e57", 3000),
        "broken.las": b"LASF" + bytes(400),
    })
    assert projects.create(live.api, headers, upload_id=sid).status_code == 201
    assert projects.wait(live.api, headers, sid, timeout=180)["state"] == "ready"
    return sid


def view(live, **cfg) -> dict:
    key = live.headers()["Authorization"].removeprefix("Bearer ")
    done = subprocess.run(["node", str(DRIVER), json.dumps({"base": live.url, "key": key, "artifacts": str(ARTIFACTS), **cfg})],
                          capture_output=True, text=True, timeout=150, check=False)
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    result = json.loads(lines[-1])
    assert result["ok"], f"{result['error']}\n{done.stderr[-2000:]}"
    assert result["pageErrors"] == [], result["pageErrors"]
    return result


def test_a_laz_streams_in_draws_and_turns(live, project):
    got = view(live, project=project, file="city.laz", shot="laz")
    assert got["firstPoints"] > 0 and got["firstFrameMs"] > 0
    # Streamed: the coarse root first, every other node after its parent, all of them in the end
    # (300k points are well inside the viewer's budget).
    order = [tuple(map(int, k.split("-"))) for k in got["order"]]
    assert order[0] == (0, 0, 0, 0) and len(order) == got["nodes"] > 1
    for i, (d, x, y, z) in enumerate(order[1:], 1):
        assert (d - 1, x // 2, y // 2, z // 2) in order[:i]
    assert got["points"] == 200_000
    assert got["drawn"] > 0.01 and got["drawnAfter"] > 0.01
    assert "200,000" in got["facts"] and "EPSG:32632" in got["facts"]


def test_an_e57_shows_its_scans_and_links_its_panorama(live, project):
    got = view(live, project=project, file="site.e57", shot="e57")
    assert got["points"] == 6000 and got["drawn"] > 0.005
    assert got["panoramas"] == 1 and "Scans2" in got["facts"].replace(" ", "")


def test_a_cloud_that_failed_says_why(live, project):
    got = view(live, project=project, file="broken.las", shot="broken", expect_error=True)
    assert "could not be converted" in got["status"]

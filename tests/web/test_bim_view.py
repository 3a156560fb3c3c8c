"""The BIM viewer (web/src/views/bim.ts) in Debian's chromium against a live server: an IFC made with
ifcopenshell.api is uploaded, converted by the project job, and the page draws it, lists its spatial
tree, and shows the property sets of what is clicked, in the tree or in the view. Screenshots:
test-artifacts/web/bim-view-*.png."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from omnidrop.web.static import DEFAULT_DIST
from tests.support import ifc, projects

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("bim_browser.mjs")
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (scripts/test installs it)")


@pytest.fixture(scope="module")
def live(servers):
    assert (DEFAULT_DIST / "index.html").is_file(), "web app not built: scripts/test runs ensure_web_assets"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return servers.start(fsync=False)


def browse(live, scenario: str, **config) -> dict:
    cfg = {"base": live.url, "key": live.key("projects:read"), "artifacts": str(ARTIFACTS), **config}
    done = subprocess.run(["node", str(DRIVER), scenario, json.dumps(cfg)], capture_output=True, text=True,
                          timeout=150, check=False)
    lines = done.stdout.strip().splitlines()
    assert lines, f"{scenario}: no result\n{done.stderr}"
    result = json.loads(lines[-1])
    assert result["ok"], f"{scenario}: {result['error']}\n{done.stderr[-2000:]}"
    assert result["pageErrors"] == [], result["pageErrors"]
    return result


def test_the_viewer_draws_the_model_lists_the_tree_and_shows_properties(live, tmp_path):
    headers = live.headers()
    sid = projects.upload(live.api, headers, {"office.ifc": ifc.small_model(tmp_path / "office.ifc")})
    assert projects.create(live.api, headers, upload_id=sid).status_code == 201
    record = projects.wait(live.api, headers, sid)
    (model,) = record["files"]
    assert "bim_model" in model["assets"], model

    got = browse(live, "view", project=sid, file="office.ifc", pick_type="IfcWall", pick_pset="Pset_WallCommon",
                 storey="Ground floor")

    # Drawn: many colours (shaded faces) and a good share of the canvas is model, not background.
    assert got["drawn"]["colours"] > 20 and got["drawn"]["model"] > 2000 and got["drawn"]["orange"] == 0
    assert "IFC4" in got["facts"] and "3 elements" in got["facts"] and "project Harbour Office" in got["facts"]

    tree = [(t["type"], t["depth"], t["label"]) for t in got["tree"]]
    assert tree == [
        ("IfcProject", 0, "Harbour Office · Project"),
        ("IfcSite", 1, "Quay · Site"),
        ("IfcBuilding", 2, "Block A · Building"),
        ("IfcBuildingStorey", 3, "Ground floor · BuildingStorey"),
        ("IfcDoor", 4, "Front door · Door"),
        ("IfcSlab", 4, "Ground slab · Slab"),
        ("IfcWall", 4, "North wall · Wall"),
    ]
    wall_id = next(t["id"] for t in got["tree"] if t["type"] == "IfcWall")

    picked = got["fromTree"]
    assert picked["selected"] == wall_id and picked["name"] == "North wall" and picked["ariaSelected"] == "true"
    assert picked["pset"] == {"IsExternal": "yes", "FireRating": "REI60"}
    assert picked["orange"] > 500  # the wall is highlighted in the view
    # The storey lights up the wall, the slab and the door: more than the wall alone.
    assert got["storey"]["name"] == "Ground floor" and got["storey"]["orange"] > picked["orange"] * 1.3
    assert got["cleared"] == 0  # and no longer after "Clear selection"

    clicked = got["fromView"]
    ids = {t["id"]: t for t in got["tree"]}
    assert ids[clicked["selected"]]["type"] in ("IfcDoor", "IfcSlab", "IfcWall")
    assert clicked["treeSelected"] == "true"
    expected = {"IfcDoor": "Pset_DoorCommon", "IfcSlab": "Pset_SlabCommon", "IfcWall": "Pset_WallCommon"}
    assert clicked["psets"] == [expected[ids[clicked["selected"]]["type"]]]

"""The splat viewer (Spark) and the model viewer (three.js) in Debian's chromium against a live server:
a project's 3DGS PLY and GLB are processed (a damaged STL beside them fails on its own), then each viewer page loads the web copy through the
project's asset URL with the signed-in key and draws it: a non-blank canvas, in the model's colours,
that changes when dragged and when its Flip / Z-up button is pressed; then again as the project page's
viewer table opens them (#/view/splat, #/view/model). Screenshots in test-artifacts/web/ (splat-viewer.png, model-viewer.png).
(The SPZ copy is read back in tests/pipeline/test_splats.py; the viewer shows it the same way.)"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from omnidrop.pipeline.splats import find_cli
from omnidrop.web.static import DEFAULT_DIST
from tests.support import models, projects

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("viewers_3d.mjs")
ARTIFACTS = ROOT / "test-artifacts" / "web"

pytestmark = [
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium (scripts/test installs it)"),
    pytest.mark.skipif(find_cli() is None, reason="splat-transform not installed (scripts/lib/setup.sh)"),
]


@pytest.fixture(scope="module")
def live(servers):
    assert (DEFAULT_DIST / "index.html").is_file(), "web app not built: scripts/test runs ensure_web_assets"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return servers.start(fsync=False)


def viewer_hash(route: str, asset_url: str, title: str, **extra: str) -> str:
    query = f"src={quote(urlsplit(asset_url).path, safe='')}&auth=1&title={quote(title)}"
    return f"/{route}?{query}" + "".join(f"&{k}={v}" for k, v in extra.items())


def test_splat_and_model_viewers_draw_the_project_assets(live, tmp_path):
    key = live.key("projects:write", "projects:read")
    headers = {"Authorization": f"Bearer {key}"}
    sid = projects.upload(live.api, headers, {
        "ball.ply": models.splat_ply(tmp_path / "ball.ply", n=4000, sh_degree=0, scale=0.03),
        "scene.glb": models.glb(tmp_path / "scene.glb"),
        "cut.stl": models.cube(tmp_path / "cut.stl").read_bytes()[:-30],  # damaged: fails on its own
    })
    assert projects.create(live.api, headers, upload_id=sid).status_code == 201
    record = projects.wait(live.api, headers, sid, timeout=180)
    files = {f["name"]: f for f in record["files"]}
    assert sorted(files["ball.ply"]["assets"]) == ["sog", "spz", "thumbnail"], files["ball.ply"]
    assert sorted(files["scene.glb"]["assets"]) == ["model", "thumbnail"], files["scene.glb"]
    assert record.get("state") != "failed" and files["cut.stl"]["assets"] == {}
    assert files["cut.stl"]["error"] == "truncated" and "triangles" in files["cut.stl"]["message"]

    views = [
        {"name": "splat-viewer", "box": "splat-viewer", "settle_ms": 1500, "button": "Flip",
         "hash": viewer_hash("splat", files["ball.ply"]["assets"]["sog"], "ball.ply", format="sog")},
        {"name": "model-viewer", "box": "model-viewer", "button": "Z up",
         "hash": viewer_hash("model", files["scene.glb"]["assets"]["model"], "scene.glb")},
        # The same viewers as the project page opens them (its viewer table, web/src/viewers.ts).
        {"name": "splat-from-project", "box": "splat-viewer", "settle_ms": 1500, "button": "Flip",
         "hash": f"/view/splat?project={quote(record['name'])}&file=ball.ply"},
        {"name": "model-from-project", "box": "model-viewer", "button": "Z up",
         "hash": f"/view/model?project={quote(record['name'])}&file=scene.glb"},
    ]
    cfg = {"base": live.url, "key": key, "artifacts": str(ARTIFACTS), "views": views}
    done = subprocess.run(["node", str(DRIVER), json.dumps(cfg)], capture_output=True, text=True, timeout=240, check=False)
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    out = json.loads(lines[-1])
    assert out["ok"], f"{out.get('error')}\n{done.stderr[-2000:]}"
    for name, got in out["results"].items():
        assert got["failed"] is None and got["errors"] == [], (name, got)
        assert got["webgl2"], "SwiftShader gave no WebGL2 context"
        assert 0.03 < got["before"]["fraction"] < 0.9, (name, got)  # something drawn, not a full-screen smear
        assert got["before"]["colours"] >= 8, (name, got)  # shaded/coloured, not a flat silhouette
        assert got["orbitChanged"], (name, got)  # dragging orbits the camera
        assert got["buttonChanged"], (name, got)  # Flip / Z up turn the model
    assert out["results"]["splat-viewer"]["status"].startswith("4,000 splats"), out["results"]["splat-viewer"]
    assert "triangles" in out["results"]["model-viewer"]["status"]
    assert out["results"]["splat-from-project"]["status"].startswith("4,000 splats"), out["results"]["splat-from-project"]
    assert "triangles" in out["results"]["model-from-project"]["status"]

"""/docs in a real browser with the network cut off: Swagger UI, bundled with the web app, renders
every operation of /openapi.json and asks for nothing outside the server. Screenshots land in
test-artifacts/web/ (docs.png, docs-full.png, docs-authorize.png, docs-put-upload.png)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from omnidrop.web.static import DEFAULT_DIST

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "tests" / "web" / "docs_page.mjs"  # beside the web app's own browser driver
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (scripts/test installs it)")


def test_docs_render_every_operation_offline(live):
    assert (DEFAULT_DIST / "docs.html").is_file(), "web app not built: scripts/test runs ensure_web_assets"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    doc = httpx.get(f"{live.url}/openapi.json").json()
    done = subprocess.run(["node", str(DRIVER), json.dumps({"base": live.url, "artifacts": str(ARTIFACTS)})],
                          capture_output=True, text=True, timeout=120, check=False)
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    page = json.loads(lines[-1])
    assert page["ok"], f"{page.get('error')}\n{done.stderr[-2000:]}"
    assert page["external"] == [] and page["pageErrors"] == []
    assert page["title"].startswith("omnidrop")
    expected = sorted(f"{method.upper()} {path}" for path, item in doc["paths"].items()
                      for method in item if method != "parameters")
    rendered = sorted(f"{m} {p.replace(chr(8203), '')}" for m, p in zip(page["methods"], page["operations"]))
    assert rendered == expected
    assert set(page["groups"]) == {t["name"] for t in doc["tags"]}
    assert {s.split()[0] for s in page["schemes"]} == set(doc["components"]["securitySchemes"])
    assert {"Content-Range", "upload_id", "filename"} <= {p.split()[0].rstrip("*") for p in page["putParameters"]}
    assert {"200", "409", "413", "415"} <= set(page["putStatuses"])


"""Serving the built web app under /app (web/static.py): assets, the SPA fallback, and a clear 503 unbuilt."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnidrop.web import static


def client_for(dist) -> TestClient:
    app = FastAPI()
    app.state.services = SimpleNamespace(settings=SimpleNamespace(web_dist_dir=dist))
    app.include_router(static.router())
    return TestClient(app, follow_redirects=False)


@pytest.fixture
def dist(tmp_path):
    (tmp_path / "dist" / "assets").mkdir(parents=True)
    (tmp_path / "dist" / "index.html").write_text("<!doctype html><title>omnidrop</title>")
    (tmp_path / "dist" / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("not for the web")
    return tmp_path / "dist"


def test_assets_are_served_hashed_ones_cached_forever(dist):
    c = client_for(dist)
    r = c.get("/app/assets/index-abc123.js")
    assert r.status_code == 200 and r.text == "console.log(1)"
    assert "immutable" in r.headers["cache-control"]
    r = c.get("/app/")
    assert r.status_code == 200 and "<title>omnidrop</title>" in r.text and r.headers["cache-control"] == "no-cache"


def test_deep_links_fall_back_to_the_page_but_missing_assets_do_not(dist):
    c = client_for(dist)
    assert "<title>omnidrop</title>" in c.get("/app/project/abc/files").text
    assert c.get("/app/assets/gone-000.js").status_code == 404
    assert "not for the web" not in c.get("/app/../secret.txt").text
    assert "not for the web" not in c.get("/app/%2e%2e/secret.txt").text


def test_root_and_bare_prefix_redirect_to_the_app(dist):
    c = client_for(dist)
    assert (c.get("/").status_code, c.get("/").headers["location"]) == (307, "/app/")
    assert c.get("/app").headers["location"] == "/app/"


def test_favicon_is_the_apps_icon_and_never_a_404(dist, tmp_path):
    (dist / "favicon.svg").write_text("<svg/>")
    r = client_for(dist).get("/favicon.ico")
    assert (r.status_code, r.text, r.headers["content-type"]) == (200, "<svg/>", "image/svg+xml")
    assert client_for(tmp_path / "missing").get("/favicon.ico").status_code == 204


def test_an_unbuilt_app_says_how_to_build_it(tmp_path):
    r = client_for(tmp_path / "missing").get("/app/")
    assert r.status_code == 503 and r.json()["error"] == "web_app_not_built"
    assert "vite build" in r.json()["message"]

"""Serve the web app's built assets under `/app`, with an SPA fallback to its index.html.

The assets are built from the repo's `web/` folder by `scripts/lib/setup.sh` (npm ci + vite build)
into `src/omnidrop/web/dist`; nothing built is committed. Hashed files under `assets/` never change,
so they are cached for a year; index.html is never cached, so a rebuild is picked up at once.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

PREFIX = "/app"
DEFAULT_DIST = Path(__file__).parent / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"


def dist_dir(request: Request) -> Path:
    return request.app.state.services.settings.web_dist_dir or DEFAULT_DIST


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/")
    async def root() -> Response:
        return RedirectResponse(PREFIX + "/", status_code=307)

    @r.get("/favicon.ico")
    async def favicon(request: Request) -> Response:
        """Browsers ask for /favicon.ico on any page (the API's JSON, /docs): the app's icon, not a 404."""
        icon = dist_dir(request).resolve() / "favicon.svg"
        if not icon.is_file():
            return Response(status_code=204)
        return FileResponse(icon, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})

    @r.get(PREFIX)
    async def bare() -> Response:
        return RedirectResponse(PREFIX + "/", status_code=307)

    @r.get(PREFIX + "/{path:path}")
    async def asset(path: str, request: Request) -> Response:
        root = dist_dir(request).resolve()
        index = root / "index.html"
        if not index.is_file():
            return JSONResponse({"error": "web_app_not_built",
                                 "message": f"no {index}: run scripts/serve or scripts/test (npm ci + vite build)"},
                                status_code=503)
        target = (root / path).resolve()
        if path and target.is_file() and target.is_relative_to(root):
            headers = {"Cache-Control": IMMUTABLE} if path.startswith("assets/") else {"Cache-Control": "no-cache"}
            return FileResponse(target, headers=headers)
        if path.startswith("assets/"):  # a missing hashed asset is a 404, not the page
            return JSONResponse({"error": "not_found"}, status_code=404)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    return r

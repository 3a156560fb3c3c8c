"""`/docs`: the API reference page (Swagger UI over /openapi.json), built with the web app.

web/docs.html and web/src/docs/ bundle swagger-ui-dist, so the page needs no CDN; its assets are
served under /app/assets like the app's. FastAPI's own /docs and /redoc (which load from a CDN) are off.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from omnidrop.web.static import dist_dir

PATH = "/docs"


def router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get(PATH)
    async def docs(request: Request) -> Response:
        page = dist_dir(request) / "docs.html"
        if not page.is_file():
            return JSONResponse({"error": "web_app_not_built",
                                 "message": f"no {page}: run scripts/serve or scripts/test (npm ci + vite build); "
                                            "the document itself is at /openapi.json"}, status_code=503)
        return FileResponse(page, headers={"Cache-Control": "no-cache"})

    return r

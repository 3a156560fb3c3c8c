"""The ASGI application: every surface on one FastAPI app, services opened in the lifespan.

Scheduled work (the upload reaper, the job sweep) runs in the job worker, not here.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from omnidrop import __version__
from omnidrop import openapi
from omnidrop.jobs.depth import jobs_waiting_and_running
from omnidrop.services import Services
from omnidrop.settings import Settings, get_settings
from omnidrop.surfaces import file_upload
from omnidrop.surfaces import resumable as resumable_surface
from omnidrop.surfaces import walkthrough
from omnidrop.surfaces import captures, companion_s3, direct_video, part_urls
from omnidrop.surfaces import signed_blobs, vehicles_360
from omnidrop.surfaces.cors import Cors
from omnidrop.telemetry.asgi import RequestTelemetry
from omnidrop.telemetry.exposition import render
from omnidrop.telemetry.logs import configure_logging
from omnidrop.telemetry.scrape import jobs_family
from omnidrop.web import docs as web_docs
from omnidrop.web import static as web_static

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_format, text_default=False)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.open(settings)
        app.state.services = services
        try:
            yield
        finally:
            await services.close()

    # /docs is omnidrop's own bundled page (no CDN); FastAPI's /docs and /redoc would load from one.
    app = FastAPI(title="omnidrop", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    openapi.install(app, settings.tus_path)
    app.include_router(file_upload.router)
    app.include_router(resumable_surface.router(settings))
    app.include_router(walkthrough.router)
    app.include_router(captures.router)
    app.include_router(direct_video.router)
    app.include_router(companion_s3.router)
    app.include_router(part_urls.router)
    app.include_router(vehicles_360.router)
    app.include_router(signed_blobs.router)
    app.include_router(web_static.router())
    app.include_router(web_docs.router())

    # Every browser-facing route (tus, S3 multipart, part URLs, the JSON APIs) gets its CORS here.
    app.add_middleware(Cors, allow_origins=settings.cors_allow_origins)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return {"ok": True, "version": __version__}

    if settings.metrics_enabled:
        @app.get("/metrics", include_in_schema=False)
        async def metrics(request: Request) -> Response:
            waiting = await jobs_waiting_and_running(request.app.state.services.db)
            body, content_type = render([jobs_family(waiting)])
            return Response(body, media_type=content_type)

    # Outermost of the app's own middleware, so its latency includes theirs.
    app.add_middleware(RequestTelemetry)

    return app

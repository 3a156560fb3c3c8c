"""The ASGI application: every surface on one FastAPI app, services opened in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from omnidrop import __version__
from omnidrop.services import Services
from omnidrop.settings import Settings, get_settings
from omnidrop.surfaces import file_upload

log = logging.getLogger(__name__)


async def _reaper(services: Services) -> None:
    """Deletes abandoned upload sessions. Several processes may run it: deletion is idempotent."""
    while True:
        await asyncio.sleep(services.settings.reaper_interval_seconds)
        try:
            await services.uploads.reap_expired()
        except Exception:
            log.exception("reaper run failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.open(settings)
        app.state.services = services
        reaper = asyncio.create_task(_reaper(services))
        try:
            yield
        finally:
            reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reaper
            await services.close()

    app = FastAPI(title="omnidrop", version=__version__, lifespan=lifespan)
    app.include_router(file_upload.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return {"ok": True, "version": __version__}

    return app

"""Shared by commands: settings overrides from flags, and running async service code once.

Heavy imports (SQLAlchemy, the app) happen inside the functions, so `omnidrop serve`, which only
supervises child processes, stays small in memory.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from omnidrop.services import Services
    from omnidrop.settings import Settings

T = TypeVar("T")


def apply_data_dir(data_dir: Path | None) -> Settings:
    from omnidrop.settings import get_settings

    # Through the environment, so child processes see the same settings.
    if data_dir is not None:
        os.environ["OMNIDROP_DATA_DIR"] = str(data_dir)
        get_settings.cache_clear()
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def migrate(settings: Settings) -> None:
    from omnidrop.db.migrate import upgrade

    upgrade(settings.resolved_database_url)


def with_services(settings: Settings, work: Callable[[Services], Awaitable[T]]) -> T:
    from omnidrop.services import Services

    async def run() -> T:
        services = Services.open(settings)
        try:
            return await work(services)
        finally:
            await services.close()

    return asyncio.run(run())

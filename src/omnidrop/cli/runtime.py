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


def apply_data_dir(data_dir: Path | None, create: bool = True) -> Settings:
    """The settings `omnidrop serve` would use here: --data-dir, else OMNIDROP_DATA_DIR, else the
    config file (OMNIDROP_CONFIG or ./omnidrop.toml), else ./omnidrop-data."""
    from omnidrop.settings import get_settings

    # Through the environment, so child processes see the same settings.
    if data_dir is not None:
        os.environ["OMNIDROP_DATA_DIR"] = str(data_dir)
        get_settings.cache_clear()
    settings = get_settings()
    if create:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def database_label(settings: Settings) -> str:
    """Which database a command works on, for people: the SQLite file, or the URL without its password."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        return f"the SQLite database {Path(url.database or '').resolve()}"
    return f"the database {url.render_as_string(hide_password=True)}"


def database_is_new(settings: Settings) -> bool:
    """True when the database has never been set up by omnidrop (no SQLite file; no schema on a server).
    Asked without creating anything."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        return not path.is_file() or path.stat().st_size == 0

    async def has_schema() -> bool:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(lambda c: inspect(c).has_table("alembic_version"))
        finally:
            await engine.dispose()

    return not asyncio.run(has_schema())


def existing_database(data_dir: Path | None, init_db: bool, what: str) -> Settings:
    """Settings for a command that writes credentials: they are only useful in the database the server
    uses, so a database that does not exist yet is refused unless `--init-db` asks for it."""
    import typer

    from_env = data_dir is not None and os.environ.get("OMNIDROP_DATA_DIR") == str(data_dir)
    settings = apply_data_dir(data_dir, create=False)
    if not init_db and database_is_new(settings):
        where = ("OMNIDROP_DATA_DIR" if from_env else "--data-dir" if data_dir is not None
                 else "the configuration" if settings.database_url else "the default, relative to this directory")
        typer.echo(
            f"no omnidrop database yet at {database_label(settings)} (data dir {settings.data_dir.resolve()}, "
            f"from {where}); a {what} made there would not be known to a server using another one.\n"
            "Run this where `omnidrop serve` runs, or pass --data-dir / set OMNIDROP_DATA_DIR (or "
            "OMNIDROP_DATABASE_URL) to the server's; pass --init-db to create a new database here.", err=True)
        raise typer.Exit(1)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings)
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

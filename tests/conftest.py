"""Fixtures shared by the whole suite.

Every test that touches the database runs twice: on SQLite (the embedded default) and on PostgreSQL
(127.0.0.1:5432, or $OMNIDROP_TEST_PG_URL). Live-server tests start real `omnidrop serve` processes.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from omnidrop.db.engine import Database
from omnidrop.db.migrate import upgrade
from tests.support.server import LiveServer, ServerFactory

PG_ADMIN_URL = os.environ.get("OMNIDROP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REPO = Path(__file__).resolve().parents[1]
SPECS = REPO.parent / "shared" / "specs"


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(request, tmp_path_factory) -> Iterator[str]:
    """A freshly migrated database URL, one per backend for the whole session."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'omnidrop.db'}"
        upgrade(url)
        yield url
        return
    name = f"omnidrop_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    upgrade(url)
    try:
        yield url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def db(db_url) -> AsyncIterator[Database]:
    database = Database(db_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def servers(tmp_path_factory) -> Iterator[ServerFactory]:
    factory = ServerFactory(tmp_path_factory.mktemp("servers"))
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture(scope="session")
def server(servers, db_url) -> LiveServer:
    """One shared live server per database backend, default configuration."""
    return servers.start(database_url=db_url)


@pytest.fixture(scope="session")
def spec_dir() -> Path:
    assert SPECS.is_dir(), f"the API documents are expected beside the repo at {SPECS}"
    return SPECS

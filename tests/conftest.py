"""Fixtures shared by the whole suite.

Every test that touches the database runs twice: on SQLite (the embedded default) and on PostgreSQL
(127.0.0.1:5432, or $OMNIDROP_TEST_PG_URL). Live-server tests start real `omnidrop serve` processes.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from omnidrop.db.engine import Database
from omnidrop.db.migrate import upgrade
from tests.support.s3 import MotoS3, start_moto
from tests.support.server import LiveServer, ServerFactory

# Anything the test process itself opens (e.g. the job queue it dispatches to) stays out of the repo.
os.environ.setdefault("OMNIDROP_DATA_DIR", tempfile.mkdtemp(prefix="omnidrop-tests-"))

PG_ADMIN_URL = os.environ.get("OMNIDROP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REPO = Path(__file__).resolve().parents[1]
SPECS = REPO.parent / "shared" / "specs"


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _new_pg_database() -> str:
    name = f"omnidrop_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    return name


def _pg_url(name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> Iterator[Callable[[str], str]]:
    """Freshly migrated database URLs, made once per backend for the whole session."""
    made: dict[str, str] = {}
    dropped: list[str] = []

    def get(backend: str) -> str:
        if backend not in made:
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'omnidrop.db'}"
            else:
                name = _new_pg_database()
                dropped.append(name)
                url = _pg_url(name)
            upgrade(url)
            made[backend] = url
        return made[backend]

    yield get
    for name in dropped:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(request, databases) -> str:
    return databases(request.param)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request, tmp_path) -> Iterator[str]:
    """A database with nothing in it, not even migrations (migration tests, and tests that must see only
    their own rows); dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = _new_pg_database()
    try:
        yield _pg_url(name)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def own_db_url(empty_db_url) -> str:
    """A migrated database of this test's own, for tests that run servers and workers of their own and
    let job leases lapse (a killed worker). On the session's shared database, the shared live servers'
    sweep would take such a job over into their own queue and blob store, where its inputs are not."""
    upgrade(empty_db_url)
    return empty_db_url


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
def moto(tmp_path_factory) -> Iterator[MotoS3]:
    """moto's S3 server on 127.0.0.1, started once when a test first needs it."""
    s3 = start_moto(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield s3
    finally:
        s3.stop()


@dataclass(frozen=True)
class Backend:
    database_url: str
    store_url: str | None  # None: the local-disk default


# Live servers pair each database with one blob store. Every database and every store runs the whole
# live suite, at half the cost of every pairing; the layers never see each other (storage knows no SQL).
PAIRS = {"sqlite-local": ("sqlite", "local"), "postgresql-s3": ("postgresql", "s3")}


@pytest.fixture(scope="session", params=list(PAIRS))
def backend(request, databases) -> Backend:
    database, store = PAIRS[request.param]
    store_url = request.getfixturevalue("moto").storage_url() if store == "s3" else None
    return Backend(databases(database), store_url)


@pytest.fixture(scope="session")
def store_url(backend) -> str | None:
    return backend.store_url


@pytest.fixture(scope="session")
def server(servers, backend) -> LiveServer:
    """One shared live server per backend pair, otherwise default configuration."""
    extra = {"storage_url": backend.store_url} if backend.store_url else {}
    return servers.start(database_url=backend.database_url, **extra)


@pytest.fixture(scope="session")
def spec_dir() -> Path:
    assert SPECS.is_dir(), f"the API documents are expected beside the repo at {SPECS}"
    return SPECS

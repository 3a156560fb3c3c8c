"""Alembic environment: async engines, batch mode for SQLite's limited ALTER TABLE, and one database
lock around the whole upgrade, so any number of nodes may run it at once on a fresh database: the
first migrates, the others wait, then find the schema current and do nothing.

PostgreSQL: a transaction-scoped advisory lock taken before Alembic reads alembic_version (without
it two nodes both see an empty database and both CREATE the same tables: "duplicate key value
violates unique constraint pg_type_typname_nsp_index"). It is released by the commit that ends the
upgrade; PostgreSQL's DDL is transactional, so a waiter sees the finished schema or none of it.
SQLite: BEGIN IMMEDIATE takes the database's write lock for the same span (its DDL is transactional
too); a waiter waits in SQLite's busy handler.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from omnidrop.db.models import Base

config = context.config
target_metadata = Base.metadata


# Any fixed 64-bit number, the same for every node: "omnidrop" in ASCII.
MIGRATION_LOCK = 0x6F6D6E6964726F70
# How long a node waits for another's SQLite migration before giving up.
SQLITE_LOCK_WAIT_S = 300


def _lock(connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _run(connection) -> None:
    _lock(connection)
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    url = config.get_main_option("sqlalchemy.url")
    connect_args = {"timeout": SQLITE_LOCK_WAIT_S} if url.startswith("sqlite") else {}
    engine = create_async_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())

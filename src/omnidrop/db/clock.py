"""The database's clock. Leases, heartbeats and deadlines that several machines compare must all be
measured on one clock, and the database is the one every process shares (a worker's own clock may
run minutes off, which would let it steal live leases or keep dead ones)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# SQLite has no time zones: strftime gives UTC with milliseconds. PostgreSQL's now() is the
# transaction's start, which is what a conditional UPDATE in that transaction should compare with.
_SQLITE_NOW = text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")
_PG_NOW = text("SELECT now()")


async def db_now(s: AsyncSession) -> datetime:
    """`now()` from the database of session `s`, as aware UTC."""
    if s.bind.dialect.name == "sqlite":
        value = datetime.fromisoformat((await s.execute(_SQLITE_NOW)).scalar_one())
    else:
        value = (await s.execute(_PG_NOW)).scalar_one()
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

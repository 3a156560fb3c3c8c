"""The database's clock, as SQL: leases and expiries are compared against one clock for the whole
cluster, never against each process's own (DESIGN.md, invariant 9).

`db_now(session)` reads that clock as a value (for a process that needs to compute with it);
`db_time(offset)` is "now + offset seconds" evaluated by the database, in the form UTCDateTime
columns are stored in (naive UTC), so it compares and assigns like any such column on both engines:
PostgreSQL: now() AT TIME ZONE 'UTC' (the transaction's start, UTC, without a zone);
SQLite: strftime(... 'now' ...), which is UTC and stable within one statement, written with six
fractional digits as SQLAlchemy writes datetimes there, so text comparison orders them right.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Float, bindparam, literal, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from omnidrop.db.types import UTCDateTime


class db_time(FunctionElement):  # noqa: N801 (reads like the SQL function it stands for)
    """The database's current UTC time plus `offset` seconds (a number or a SQL expression)."""

    type = UTCDateTime()
    inherit_cache = True
    name = "db_time"

    def __init__(self, offset: float | ColumnElement = 0.0) -> None:
        if not isinstance(offset, ColumnElement):
            offset = literal(float(offset), Float)
        super().__init__(offset)


def seconds(name: str) -> ColumnElement:
    """A bound number of seconds for a prebuilt statement's db_time()."""
    return bindparam(name, type_=Float)


@compiles(db_time, "postgresql")
def _postgresql(element: db_time, compiler, **kw) -> str:
    (offset,) = element.clauses
    return (f"((now() AT TIME ZONE 'UTC') + make_interval(secs => CAST({compiler.process(offset, **kw)} "
            f"AS double precision)))")


@compiles(db_time, "sqlite")
def _sqlite(element: db_time, compiler, **kw) -> str:
    (offset,) = element.clauses
    # '%f' gives seconds with milliseconds (SS.SSS); three more zeros make SQLAlchemy's microsecond form.
    return (f"(strftime('%Y-%m-%d %H:%M:%f', 'now', CAST({compiler.process(offset, **kw)} AS REAL) "
            f"|| ' seconds') || '000')")


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

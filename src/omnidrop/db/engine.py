"""Async engines for SQLite (embedded default) and PostgreSQL, with the write discipline each needs.

SQLite: every write transaction starts with BEGIN IMMEDIATE. pysqlite's default emits BEGIN only before
DML, so a read-then-write transaction silently loses updates under concurrency, and a DEFERRED
transaction that upgrades to a write fails with "database is locked" despite the busy timeout.
Reads use a second engine that never takes the write lock, so WAL readers run beside a writer.

Hot paths (one upload chunk runs a few short transactions) can hand a whole transaction of plain
synchronous ORM code to `run_write` / `run_read`. On SQLite that runs on pysqlite, first right on the
event loop: such a transaction takes tens of microseconds in SQLite, less than a hop to a thread and
back (measured: 0.56 ms for a one-row UPDATE through the thread pool, most of it the hop and the GIL
hand-backs). It must never wait there, so that connection has no busy timeout and does no WAL
checkpoints (which fsync): when another connection holds the lock, the transaction runs again in a
small thread pool, where waiting is harmless; checkpoints run there too. aiosqlite would hop once
per driver call (cursor, execute, fetch, close, BEGIN, COMMIT: a dozen per transaction). The thread
pool's write transactions all run on one thread: SQLite takes one writer at a time anyway, and
writers of one process that met at the lock would wait in SQLite's busy handler, which sleeps in
steps of up to 100 ms instead of waking when the lock frees. On PostgreSQL the same function runs on
the async session (`run_sync`).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Transactions on the loop's connection between two WAL checkpoints (which run in the write thread).
CHECKPOINT_EVERY = 200


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` and `sqlite:///` URLs and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn, *, on_loop: bool = False) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={0 if on_loop else SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    if on_loop:
        cur.execute("PRAGMA wal_autocheckpoint=0")
    cur.close()


def _sqlite_transactions(engine: Engine, *, immediate: bool, on_loop: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # Take transaction control away from pysqlite; we say BEGIN ourselves.
        dbapi_conn.isolation_level = None
        _sqlite_pragmas(dbapi_conn, on_loop=on_loop)

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _make_sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    _sqlite_transactions(engine.sync_engine, immediate=immediate)
    return engine


def _make_sqlite_sync_engine(url: str, *, immediate: bool, pool_size: int, on_loop: bool = False) -> Engine:
    # A pooled connection is used by one thread at a time, but not always the same one.
    timeout = 0 if on_loop else SQLITE_BUSY_TIMEOUT_MS / 1000
    engine = create_engine(url.replace("sqlite+aiosqlite", "sqlite+pysqlite", 1), pool_size=pool_size,
                           connect_args={"timeout": timeout, "check_same_thread": False})
    _sqlite_transactions(engine, immediate=immediate, on_loop=on_loop)
    return engine


def _is_busy(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlite_errorcode", None)  # the extended code: its low byte is the primary one
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def is_disk_full(exc: DBAPIError) -> bool:
    """SQLite's SQLITE_FULL (the database or its WAL could not grow) or PostgreSQL's disk_full."""
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return (code is not None and code & 0xFF == sqlite3.SQLITE_FULL) or getattr(exc.orig, "sqlstate", None) == "53100"


def _transaction(factory: sessionmaker[Session], fn: Callable[[Session], T]) -> T:
    with factory() as session, session.begin():
        return fn(session)


class Database:
    """Two session factories: `write()` for any transaction that changes rows, `read()` for the rest."""

    def __init__(self, url: str, *, pool_size: int = 10, on_disk_full: Callable[[], bool] | None = None) -> None:
        """`on_disk_full()` frees space when a write meets a full disk (True when it freed some): the
        failed transaction then runs once more where it can (`run_write`), and is refused otherwise."""
        self.url = normalise_url(url)
        self.on_disk_full = on_disk_full
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            self.write_engine = _make_sqlite_engine(self.url, immediate=True)
            self.read_engine = _make_sqlite_engine(self.url, immediate=False)
        else:
            self.write_engine = create_async_engine(self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
            self.read_engine = self.write_engine
        self._write = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._read = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._sync_write: sessionmaker[Session] | None = None
        self._sync_read: sessionmaker[Session] | None = None
        self._loop_write: sessionmaker[Session] | None = None
        self._loop_read: sessionmaker[Session] | None = None
        self._since_checkpoint = 0
        self._checkpointing = False
        self._read_executor: ThreadPoolExecutor | None = None
        self._write_executor: ThreadPoolExecutor | None = None
        if self.is_sqlite:
            # Their own threads, so a transaction never queues behind fsyncs in the loop's default executor.
            self._read_executor = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="omnidrop-db-read")
            self._write_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="omnidrop-db-write")
            self._sync_write = sessionmaker(
                _make_sqlite_sync_engine(self.url, immediate=True, pool_size=1), expire_on_commit=False)
            self._sync_read = sessionmaker(
                _make_sqlite_sync_engine(self.url, immediate=False, pool_size=pool_size), expire_on_commit=False)
            self._loop_write = sessionmaker(
                _make_sqlite_sync_engine(self.url, immediate=True, pool_size=1, on_loop=True), expire_on_commit=False)
            self._loop_read = sessionmaker(
                _make_sqlite_sync_engine(self.url, immediate=False, pool_size=1, on_loop=True), expire_on_commit=False)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One write transaction: commits on success, rolls back on error."""
        try:
            async with self._write() as session, session.begin():
                yield session
        except DBAPIError as exc:
            if is_disk_full(exc) and self.on_disk_full is not None:
                self.on_disk_full()  # the body cannot run again here; the next transaction finds room
            raise

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read() as session, session.begin():
            yield session

    async def run_write(self, fn: Callable[[Session], T]) -> T:
        """`fn(session)` as one write transaction of synchronous ORM code: commits on return, rolls back
        on error. Objects it returns are detached (expire_on_commit is off) and safe to read. On SQLite
        `fn` may run twice: when the lock was taken, its first run ends at its first statement."""
        try:
            return await self._run_write(fn)
        except DBAPIError as exc:
            if not (is_disk_full(exc) and self.on_disk_full is not None and self.on_disk_full()):
                raise
        return await self._run_write(fn)  # once more, with the room just freed

    async def _run_write(self, fn: Callable[[Session], T]) -> T:
        if self._sync_write is None:
            async with self._write() as s, s.begin():
                return await s.run_sync(fn)
        try:
            result = _transaction(self._loop_write, fn)
        except OperationalError as exc:
            if not _is_busy(exc):
                raise
            return await self._in_thread(self._write_executor, self._sync_write, fn)
        self._since_checkpoint += 1
        if self._since_checkpoint >= CHECKPOINT_EVERY and not self._checkpointing:
            self._checkpoint_soon()
        return result

    async def run_read(self, fn: Callable[[Session], T]) -> T:
        if self._sync_read is None:
            async with self.read() as s:
                return await s.run_sync(fn)
        try:
            return _transaction(self._loop_read, fn)
        except OperationalError as exc:
            if not _is_busy(exc):
                raise
            return await self._in_thread(self._read_executor, self._sync_read, fn)

    def _checkpoint_soon(self) -> None:
        """Move the WAL's pages into the database file, in the write thread (it fsyncs)."""
        self._checkpointing = True
        self._since_checkpoint = 0

        def done(job: asyncio.Future) -> None:
            self._checkpointing = False
            if not job.cancelled() and job.exception() is not None:
                log.warning("WAL checkpoint failed; the next one retries", exc_info=job.exception())

        asyncio.get_running_loop().run_in_executor(self._write_executor, self._checkpoint).add_done_callback(done)

    def _checkpoint(self) -> None:
        # On the bare driver connection: SQLAlchemy would wrap it in a transaction, where SQLite refuses.
        conn = self._sync_write.kw["bind"].raw_connection()
        try:
            conn.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    @staticmethod
    async def _in_thread(executor: ThreadPoolExecutor | None, factory: sessionmaker[Session],
                         fn: Callable[[Session], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(executor, _transaction, factory, fn)

    async def dispose(self) -> None:
        # aiosqlite's worker threads are non-daemon: an undisposed engine hangs the process at exit.
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
        for factory in (self._sync_write, self._sync_read, self._loop_write, self._loop_read):
            if factory is not None:
                factory.kw["bind"].dispose()
        for executor in (self._read_executor, self._write_executor):
            if executor is not None:
                executor.shutdown(wait=True)

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, text, update

from omnidrop.db import engine
from omnidrop.db.engine import Database
from omnidrop.db.models import Owner
from omnidrop.db.models.base import Base
from omnidrop.db.types import utcnow
from omnidrop.uploads.ids import new_id


async def test_run_write_commits_and_run_read_sees_it(db):
    owner_id = new_id(16)
    await db.run_write(lambda s: s.add(Owner(id=owner_id, name=f"o-{owner_id}", created_at=utcnow())))
    name = await db.run_read(lambda s: s.scalar(select(Owner.name).where(Owner.id == owner_id)))
    assert name == f"o-{owner_id}"
    async with db.read() as s:  # the async engines see the same committed row
        assert await s.get(Owner, owner_id) is not None


async def test_run_write_rolls_back_when_the_function_raises(db):
    owner_id = new_id(16)

    def add_then_fail(s):
        s.add(Owner(id=owner_id, name=f"o-{owner_id}", created_at=utcnow()))
        s.flush()
        raise LookupError("refused")

    with pytest.raises(LookupError):
        await db.run_write(add_then_fail)
    assert await db.run_read(lambda s: s.get(Owner, owner_id)) is None


async def test_concurrent_run_write_increments_lose_nothing(db):
    # Read-modify-write in one transaction: on SQLite this needs BEGIN IMMEDIATE on the sync path too.
    owner_id = new_id(16)
    await db.run_write(lambda s: s.add(Owner(id=owner_id, name="0", created_at=utcnow())))

    def bump(s):
        current = int(s.scalar(select(Owner.name).where(Owner.id == owner_id).with_for_update()))
        s.execute(update(Owner).where(Owner.id == owner_id).values(name=str(current + 1)))

    await asyncio.gather(*(db.run_write(bump) for _ in range(20)))
    assert await db.run_read(lambda s: s.scalar(select(Owner.name).where(Owner.id == owner_id))) == "20"


@pytest.fixture
async def sqlite_db(tmp_path) -> AsyncIterator[Database]:
    """A SQLite database of its own: these tests hold its write lock from outside."""
    database = Database(f"sqlite:///{tmp_path / 'own.db'}")
    async with database.write_engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    try:
        yield database
    finally:
        await database.dispose()


def _add_owner(names: list[str]):
    def add(s) -> str:
        names.append(threading.current_thread().name)
        owner_id = new_id(16)
        s.add(Owner(id=owner_id, name=f"o-{owner_id}", created_at=utcnow()))
        s.flush()
        return owner_id
    return add


async def test_sqlite_transactions_run_on_the_loop_when_the_lock_is_free(sqlite_db):
    ran_in: list[str] = []
    owner_id = await sqlite_db.run_write(_add_owner(ran_in))
    assert await sqlite_db.run_read(lambda s: (ran_in.append(threading.current_thread().name),
                                               s.get(Owner, owner_id))[1]) is not None
    assert ran_in == [threading.main_thread().name] * 2


async def test_a_write_that_meets_the_lock_waits_in_a_thread_not_on_the_loop(sqlite_db, tmp_path):
    holder = sqlite3.connect(tmp_path / "own.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process mid-transaction
    ran_in: list[str] = []
    write = asyncio.create_task(sqlite_db.run_write(_add_owner(ran_in)))
    started = asyncio.get_running_loop().time()
    for _ in range(20):  # the loop keeps running while the write waits
        await asyncio.sleep(0.01)
    # Waiting on the loop would have stalled it for the whole busy timeout (30 s).
    assert not write.done() and asyncio.get_running_loop().time() - started < 10
    reader = await sqlite_db.run_read(lambda s: s.scalar(select(func.count()).select_from(Owner)))  # WAL: reads go on
    holder.execute("COMMIT")
    owner_id = await asyncio.wait_for(write, 10)
    assert ran_in[0] == threading.main_thread().name and ran_in[1].startswith("omnidrop-db-write")
    assert await sqlite_db.run_read(lambda s: s.get(Owner, owner_id)) is not None and reader == 0
    holder.close()


async def test_the_loop_connection_leaves_wal_checkpoints_to_the_write_thread(sqlite_db, monkeypatch):
    assert await sqlite_db.run_write(lambda s: s.execute(text("PRAGMA wal_autocheckpoint")).scalar()) == 0
    monkeypatch.setattr(engine, "CHECKPOINT_EVERY", 3)
    ran_in: list[str] = []
    real = sqlite_db._checkpoint
    monkeypatch.setattr(sqlite_db, "_checkpoint", lambda: (ran_in.append(threading.current_thread().name), real()))
    for _ in range(7):
        await sqlite_db.run_write(_add_owner([]))
        await asyncio.sleep(0.05)
    assert len(ran_in) == 2 and all(name.startswith("omnidrop-db-write") for name in ran_in)

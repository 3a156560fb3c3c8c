import asyncio

import pytest
from sqlalchemy import select, update

from omnidrop.db.models import Owner
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

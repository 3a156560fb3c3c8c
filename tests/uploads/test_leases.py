import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from omnidrop.db.models import UploadFile
from omnidrop.db.types import utcnow
from omnidrop.uploads.leases import Lease, LeaseLost
from tests.support.upload_rows import new_upload_file


@pytest.fixture
async def file_id(db):
    return await new_upload_file(db, owner="lease", name="f.jpg", blob_key="k", total=1)


async def test_exactly_one_of_many_concurrent_claims_wins(db, file_id):
    leases = [Lease(db, file_id, ttl=30, renew_every=1) for _ in range(40)]
    won = await asyncio.gather(*(lease.claim(wait=0) for lease in leases))
    assert sum(won) == 1


async def test_released_lease_can_be_claimed_again(db, file_id):
    a, b = Lease(db, file_id, 30, 1), Lease(db, file_id, 30, 1)
    assert await a.claim(0)
    assert not await b.claim(0.2)
    await a.release()
    assert await b.claim(0)


async def test_stale_lease_is_taken_over_and_the_old_holder_stops(db, file_id):
    old, new = Lease(db, file_id, ttl=30, renew_every=0), Lease(db, file_id, 30, 0)
    assert await old.claim(0)
    async with db.write() as s:  # the old holder went silent past its TTL
        await s.execute(update(UploadFile).where(UploadFile.id == file_id)
                        .values(lease_expires=utcnow() - timedelta(seconds=1)))
    assert await new.claim(0)
    with pytest.raises(LeaseLost):
        await old.keep()
    await new.keep()
    await old.release()  # must not free the new holder's lease
    assert not await Lease(db, file_id, 30, 0).claim(0)


async def test_with_stale_after_a_quiet_holder_is_taken_over_before_its_ttl(db, file_id):
    holder = Lease(db, file_id, ttl=30, renew_every=1)
    assert await holder.claim(0)
    assert not await Lease(db, file_id, 30, 1, stale_after=3).claim(0)  # renewed just now
    async with db.write() as s:  # last renewed 5 s ago: within its TTL, but quiet for longer than 3 s
        await s.execute(update(UploadFile).where(UploadFile.id == file_id)
                        .values(lease_expires=utcnow() + timedelta(seconds=25)))
    assert not await Lease(db, file_id, 30, 1).claim(0)  # plain claims wait for the TTL
    taker = Lease(db, file_id, 30, 1, stale_after=3)
    assert await taker.claim(0)
    holder._renewed_at = 0  # its next write renews first, and finds the lease gone
    with pytest.raises(LeaseLost):
        await holder.keep()

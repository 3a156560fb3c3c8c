import os

import pytest

from omnidrop.auth.quotas import Quotas, list_plans, set_plan
from omnidrop.storage.local import LocalBlobStore
from omnidrop.uploads.core import UploadCore, UploadLimits
from omnidrop.uploads.errors import StorageQuotaExceeded, TariffForbidsUpload


async def body(data: bytes):
    yield data


@pytest.fixture
async def owner(db):
    name = f"quota-{os.urandom(4).hex()}"
    plan = await set_plan(db, name, 1000, None)
    assert (plan.quota_bytes, plan.uploads_forbidden, plan.used_bytes) == (1000, False, 0)
    return name


async def owner_id(db, name):
    from sqlalchemy import select

    from omnidrop.db.models import Owner

    async with db.read() as s:
        return await s.scalar(select(Owner.id).where(Owner.name == name))


@pytest.fixture
def core(db, tmp_path):
    limits = UploadLimits(allowed_extensions=["jpg"], lease_wait=0.1)
    return UploadCore(db, LocalBlobStore(tmp_path), limits, Quotas(default_quota_bytes=None))


async def test_quota_counts_declared_sizes_and_refuses_what_would_pass_it(db, core, owner):
    oid = await owner_id(db, owner)
    sid = (await core.create_session(oid)).id
    await core.write(oid, sid, "a.jpg", start=0, length=100, total=600, body=body(b"x" * 100))
    with pytest.raises(StorageQuotaExceeded) as info:
        await core.write(oid, sid, "b.jpg", start=0, length=1, total=401, body=body(b"x"))
    assert info.value.details == {"limit": 1000, "used": 600}
    await core.write(oid, sid, "b.jpg", start=0, length=400, total=400, body=body(b"y" * 400))
    with pytest.raises(StorageQuotaExceeded):  # quota used up: not even a new session
        await core.create_session(oid)
    assert [p.used_bytes for p in await list_plans(db) if p.owner == owner] == [1000]
    await set_plan(db, owner, None, None)  # back to the server default: unlimited
    await core.create_session(oid)


async def test_plan_switch_forbids_uploads(db, core, owner):
    oid = await owner_id(db, owner)
    await set_plan(db, owner, ..., True)
    with pytest.raises(TariffForbidsUpload):
        await core.create_session(oid)
    plan = await set_plan(db, owner, ..., False)
    assert plan.quota_bytes == 1000 and not plan.uploads_forbidden
    await core.create_session(oid)


async def test_server_default_quota_applies_to_owners_without_their_own(db, tmp_path):
    name = f"default-{os.urandom(4).hex()}"
    await set_plan(db, name, None, None)
    oid = await owner_id(db, name)
    core = UploadCore(db, LocalBlobStore(tmp_path), UploadLimits(allowed_extensions=["jpg"]), Quotas(50))
    sid = (await core.create_session(oid)).id
    with pytest.raises(StorageQuotaExceeded) as info:
        await core.write(oid, sid, "a.jpg", start=0, length=1, total=51, body=body(b"x"))
    assert info.value.details["limit"] == 50

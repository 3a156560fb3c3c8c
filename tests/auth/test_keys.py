import hashlib

import pytest
from sqlalchemy import select

from omnidrop.auth.errors import InsufficientScope, InvalidCredentials
from omnidrop.auth.keys import KeyService, UnknownScope
from omnidrop.db.models import ApiKey


async def test_keys_are_stored_only_as_hashes_and_authenticate(db):
    keys = KeyService(db)
    token, record = await keys.create("laptop", ["projects:write"], owner="alice")
    assert token.startswith("sk_") and len(token) == 35
    async with db.read() as s:
        stored = (await s.execute(select(ApiKey).where(ApiKey.id == record.id))).scalar_one()
    assert stored.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (stored.key_hash, stored.prefix, stored.name)

    who = await keys.authenticate(token)
    assert who.scopes == {"projects:write"}
    who.require("projects:write")
    with pytest.raises(InsufficientScope):
        who.require("projects:read")


async def test_one_owner_many_keys_and_revocation(db):
    keys = KeyService(db)
    t1, r1 = await keys.create("a", ["projects:read"], owner="bob")
    t2, _ = await keys.create("b", ["projects:read"], owner="bob")
    assert (await keys.authenticate(t1)).owner_id == (await keys.authenticate(t2)).owner_id
    assert await keys.revoke(r1.prefix)
    assert not await keys.revoke(r1.id)  # already revoked
    with pytest.raises(InvalidCredentials):
        await keys.authenticate(t1)
    await keys.authenticate(t2)


@pytest.mark.parametrize("token", ["", "sk_", "sk_nope", "Bearer sk_x", "pk_abc"])
async def test_unknown_tokens_are_refused(db, token):
    with pytest.raises(InvalidCredentials):
        await KeyService(db).authenticate(token)


async def test_unknown_scopes_are_refused(db):
    with pytest.raises(UnknownScope):
        await KeyService(db).create("x", ["projects:admin"])

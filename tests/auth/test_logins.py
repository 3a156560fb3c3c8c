"""Users, scrypt password hashes and expiring login tokens, on SQLite and PostgreSQL."""

import os

import pytest

from omnidrop.auth.errors import InvalidCredentials
from omnidrop.auth.keys import KeyService
from omnidrop.auth.logins import ANONYMOUS_OWNER, LoginService, UserExists, WrongPassword
from omnidrop.auth.passwords import hash_password, verify_password


def test_password_hashes_are_salted_and_verify():
    first, second = hash_password("s3cret"), hash_password("s3cret")
    assert first != second and first.startswith("scrypt$")
    assert verify_password("s3cret", first) and not verify_password("s3creT", first)
    assert not verify_password("s3cret", "garbage") and not verify_password("s3cret", "md5$1$1$1$AA==$AA==")


@pytest.fixture
def logins(db) -> LoginService:
    return LoginService(db, KeyService(db), token_ttl_seconds=3600)


def username() -> str:
    return f"user-{os.urandom(4).hex()}@example.com"


async def test_a_login_token_acts_for_the_users_owner(logins):
    name = username()
    user = await logins.create_user(name, "pw")
    issued = await logins.login(name, "pw")
    assert issued.token.startswith("lt_")
    principal = await logins.authenticate(issued.token)
    assert principal.owner_id == user.owner_id and "projects:write" in principal.scopes


async def test_wrong_passwords_unknown_users_and_duplicates(logins):
    name = username()
    await logins.create_user(name, "pw")
    with pytest.raises(WrongPassword):
        await logins.login(name, "PW")
    with pytest.raises(WrongPassword):
        await logins.login("nobody@example.com", "pw")
    with pytest.raises(UserExists):
        await logins.create_user(name, "other")
    with pytest.raises(ValueError):
        await logins.create_user(ANONYMOUS_OWNER, "pw")


async def test_expired_and_unknown_tokens_are_refused(db):
    logins = LoginService(db, KeyService(db), token_ttl_seconds=-1)
    name = username()
    await logins.create_user(name, "pw")
    issued = await logins.login(name, "pw")
    with pytest.raises(InvalidCredentials):
        await logins.authenticate(issued.token)
    with pytest.raises(InvalidCredentials):
        await logins.authenticate("lt_" + "x" * 40)


async def test_api_keys_still_authenticate(logins):
    token, _ = await logins.keys.create("k", ["projects:read"], owner=f"o-{os.urandom(3).hex()}")
    assert (await logins.authenticate(token)).scopes == frozenset({"projects:read"})

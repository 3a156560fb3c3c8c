"""Users, scrypt password hashes and expiring login tokens, on SQLite and PostgreSQL."""

import os
from datetime import timedelta

import pytest
from sqlalchemy import update

from omnidrop.auth.errors import InvalidCredentials
from omnidrop.auth.keys import KeyService, hash_token
from omnidrop.auth.logins import ANONYMOUS_OWNER, LoginService, UserExists, WrongPassword
from omnidrop.auth.passwords import hash_password, verify_password
from omnidrop.db.clock import db_now, db_time
from omnidrop.db.models import LoginToken
from tests.support.clock import skew_process_clock


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


# -- throttling and the hash gate ---------------------------------------------------------------------


async def test_logins_are_throttled_per_username_and_per_address(db):
    from omnidrop.auth.rate_limits import LoginThrottle, RateLimited, SqlStorage

    throttle = LoginThrottle(SqlStorage(db), per_user="3/hour", per_address="5/hour")
    logins = LoginService(db, KeyService(db), 3600, throttle)
    name, other = username(), username()
    await logins.create_user(name, "pw")
    address = f"192.0.2.{os.urandom(1)[0]}-{os.urandom(4).hex()}"  # a fresh counter per run
    for _ in range(3):
        with pytest.raises(WrongPassword):
            await logins.login(name, "guess", address)
    with pytest.raises(RateLimited) as refused:  # the right password too, once the user's limit is used up
        await logins.login(f"  {name.upper()} ", "pw", address)
    assert 1 <= refused.value.retry_after <= 3600 and refused.value.status == 429
    # Another user from the same address has its own count, until the address's limit: 5 attempts,
    # of which the first user made 3 (the refused fourth stopped at the user's limit).
    for _ in range(2):
        with pytest.raises(WrongPassword):
            await logins.login(other, "x", address)
    with pytest.raises(RateLimited):
        await logins.login(other, "x", address)
    # From another address a third user gets an answer; the first one stays throttled.
    with pytest.raises(WrongPassword):
        await logins.login(username(), "x", address + "-b")
    with pytest.raises(RateLimited):
        await logins.login(name, "pw", address + "-b")


async def test_the_hash_gate_bounds_concurrent_password_checks_and_refuses_past_its_queue(db, monkeypatch):
    import asyncio
    import threading

    from omnidrop.auth import logins as logins_module
    from omnidrop.auth.logins import HashGate, LoginBusy

    release, inside = threading.Event(), threading.Semaphore(0)
    running, most = [0], [0]
    lock = threading.Lock()

    def slow_verify(password: str, stored: str) -> bool:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        inside.release()
        release.wait(30)
        with lock:
            running[0] -= 1
        return False

    monkeypatch.setattr(logins_module, "verify_password", slow_verify)
    logins = LoginService(db, KeyService(db), 3600, gate=HashGate(concurrency=1, queue=1))
    first = asyncio.create_task(logins.login("a@example.com", "x"))
    await asyncio.to_thread(inside.acquire, True, 30)  # the first check is running
    second = asyncio.create_task(logins.login("b@example.com", "x"))
    for _ in range(100_000):  # until the second waits for the one slot
        if logins.gate.waiting or second.done():
            break
        await asyncio.sleep(0.001 if _ > 1000 else 0)
    assert logins.gate.waiting == 1
    with pytest.raises(LoginBusy) as busy:  # the queue is full: refused at once
        await logins.login("c@example.com", "x")
    assert busy.value.status == 429 and busy.value.retry_after == 1
    release.set()
    for task in (first, second):
        with pytest.raises(WrongPassword):
            await task
    assert most[0] == 1


@pytest.mark.parametrize("hours", [-30, 30])
async def test_a_skewed_process_clock_neither_cuts_a_token_short_nor_keeps_it_alive(db, monkeypatch, hours):
    """Token expiry is the database's: issued and judged by its clock (a 1 h token, a clock 30 h off)."""
    logins = LoginService(db, KeyService(db), token_ttl_seconds=3600)
    name = username()
    await logins.create_user(name, "pw")
    skew_process_clock(monkeypatch, timedelta(hours=hours))
    issued = await logins.login(name, "pw")
    async with db.read() as s:
        now = await db_now(s)
    assert now + timedelta(minutes=59) < issued.expires_at < now + timedelta(minutes=61)
    assert (await logins.authenticate(issued.token)).owner_id  # not expired early
    async with db.write() as s:  # its hour has passed, by the database's clock
        await s.execute(update(LoginToken).where(LoginToken.token_hash == hash_token(issued.token))
                        .values(expires_at=db_time(-1)))
    with pytest.raises(InvalidCredentials):  # and a clock running behind does not keep it alive
        await logins.authenticate(issued.token)

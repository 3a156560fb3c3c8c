"""The counters recorded where things happen, on both databases: a rate limit's refusal (a route's or a
login's), a blob store
that fails under an upload (and not a client's own bad body), a writer whose lease is taken over."""

import errno
import os
import uuid

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update

from omnidrop.auth.keys import KeyService
from omnidrop.auth.rate_limits import (
    LoginThrottle,
    RateLimited,
    SqlStorage,
    open_limiter,
)
from omnidrop.db.models import UploadFile
from omnidrop.storage.local import LocalBlobStore
from omnidrop.uploads.core import UploadCore, UploadLimits
from omnidrop.uploads.errors import FileBusy, LengthMismatch

# lease_renew 0: the writer renews before every piece, so it notices a takeover at the next one.
LIMITS = UploadLimits(ttl_seconds=3600, max_file_bytes=10_000, allowed_extensions=["e57"],
                      lease_ttl=5.0, lease_renew=0.0, lease_wait=0.3)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class FullDisk(LocalBlobStore):
    async def write(self, key, offset, chunks, fence=None):
        async for _ in chunks:
            raise OSError(errno.ENOSPC, "No space left on device")
        return 0


async def pieces(*parts: bytes):
    for part in parts:
        yield part


@pytest.fixture
async def owner(db):
    return await KeyService(db).ensure_owner(f"owner-{os.urandom(4).hex()}")


async def test_a_rate_limit_refusal_is_counted_for_its_route(db):
    route = "GET /projects/{name}"
    limiter = open_limiter(db, None, {route: "1/minute"}, True)
    key = uuid.uuid4().hex
    before = sample("omnidrop_rate_limit_refusals_total", route=route)
    await limiter.hit(route, key)
    assert sample("omnidrop_rate_limit_refusals_total", route=route) == before
    with pytest.raises(RateLimited):
        await limiter.hit(route, key)
    assert sample("omnidrop_rate_limit_refusals_total", route=route) == before + 1


async def test_a_login_throttle_refusal_is_counted_under_the_limit_that_refused_it(db):
    throttle = LoginThrottle(SqlStorage(db), per_user="1/hour", per_address="1/hour")
    name, address = f"user-{uuid.uuid4().hex}", f"192.0.2.1-{uuid.uuid4().hex}"  # fresh counters per run
    before = {scope: sample("omnidrop_rate_limit_refusals_total", route=scope) for scope in ("login:user", "login:address")}
    await throttle.hit(name, address)
    with pytest.raises(RateLimited):  # the same user again: the per-user limit refuses
        await throttle.hit(name, address)
    assert sample("omnidrop_rate_limit_refusals_total", route="login:user") == before["login:user"] + 1
    assert sample("omnidrop_rate_limit_refusals_total", route="login:address") == before["login:address"]
    with pytest.raises(RateLimited):  # another user from the same address, whose one attempt is spent
        await throttle.hit(f"other-{uuid.uuid4().hex}", address)
    assert sample("omnidrop_rate_limit_refusals_total", route="login:address") == before["login:address"] + 1
    assert sample("omnidrop_rate_limit_refusals_total", route="login:user") == before["login:user"] + 1


async def test_a_failing_store_is_a_storage_error_and_a_bad_body_is_not(db, tmp_path, owner):
    before = sample("omnidrop_storage_errors_total", operation="upload")
    full = UploadCore(db, FullDisk(tmp_path / "full"), LIMITS)
    sid = (await full.create_session(owner)).id
    with pytest.raises(OSError):
        await full.write(owner, sid, "a.e57", start=0, length=3, total=3, body=pieces(b"abc"))
    assert sample("omnidrop_storage_errors_total", operation="upload") == before + 1

    core = UploadCore(db, LocalBlobStore(tmp_path / "ok"), LIMITS)
    sid = (await core.create_session(owner)).id
    with pytest.raises(LengthMismatch):  # the client sent more than it declared: its error, not the store's
        await core.write(owner, sid, "b.e57", start=0, length=3, total=10, body=pieces(b"abcd"))
    assert sample("omnidrop_storage_errors_total", operation="upload") == before + 1


async def test_a_writer_that_finds_its_lease_taken_over_is_counted(db, tmp_path, owner):
    core = UploadCore(db, LocalBlobStore(tmp_path / "blobs"), LIMITS)
    sid = (await core.create_session(owner)).id
    before = sample("omnidrop_lease_takeovers_total", lease="upload")

    async def taken_over_midway():
        yield b"abc"
        async with db.write() as s:  # what a second request's claim of a stale lease does
            await s.execute(update(UploadFile).where(UploadFile.session_id == sid).values(lease_owner="another"))
        yield b"def"

    with pytest.raises(FileBusy):
        await core.write(owner, sid, "c.e57", start=0, length=6, total=6, body=taken_over_midway())
    assert sample("omnidrop_lease_takeovers_total", lease="upload") == before + 1

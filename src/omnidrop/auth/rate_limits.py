"""Rate limits per API key and endpoint, on the `limits` library.

Counters live in Redis when OMNIDROP_REDIS_URL is set, else in a database table, so every server
process shares them (the library's memory storage would count per process).
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from sqlalchemy import delete, select, text
from sqlalchemy.exc import SQLAlchemyError

from omnidrop.auth.errors import AuthError
from omnidrop.db.engine import Database
from omnidrop.db.models import RateLimitCounter
from omnidrop.telemetry.metrics import RATE_LIMIT_REFUSALS

# The File Upload API document's table, word for word.
FILE_UPLOAD_LIMITS = {
    "POST /uploads": "30/hour",
    "PUT /uploads/…/{filename}": "1200/minute",
    "GET /uploads/…/{filename}": "600/minute",
    "GET /uploads/{upload_id}": "120/minute",
    "DELETE /uploads/{upload_id}": "60/minute",
    "POST /projects": "10/hour",
    "GET /projects/{name}": "60/minute",
}


class RateLimited(AuthError):
    code = "rate_limited"
    status = 429

    def __init__(self, limit: str, retry_after: int) -> None:
        super().__init__(f"rate limit of {limit} exceeded")
        self.limit = limit
        self.retry_after = retry_after


_UPSERT = text(
    "INSERT INTO rate_limit_counters (key, count, expires_at) VALUES (:key, :amount, :fresh) "
    "ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN rate_limit_counters.expires_at <= :now THEN :amount "
    "ELSE rate_limit_counters.count + :amount END, "
    "expires_at = CASE WHEN rate_limit_counters.expires_at <= :now THEN :fresh "
    "ELSE rate_limit_counters.expires_at END "
    "RETURNING count"
)


class SqlStorage(Storage):
    """Fixed-window counters in `rate_limit_counters`: one atomic upsert per hit, on SQLite and PostgreSQL."""

    STORAGE_SCHEME = ["omnidrop+sql"]

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        params = {"key": key, "amount": amount, "now": now, "fresh": now + expiry}
        # Every request of every route pays this: the one-hop write path, not an async session.
        return await self.db.run_write(lambda s: s.scalar(_UPSERT, params))

    async def get(self, key: str) -> int:
        async with self.db.read() as s:
            count = await s.scalar(select(RateLimitCounter.count).where(
                RateLimitCounter.key == key, RateLimitCounter.expires_at > time.time()))
        return count or 0

    async def get_expiry(self, key: str) -> float:
        async with self.db.read() as s:
            expires = await s.scalar(select(RateLimitCounter.expires_at).where(RateLimitCounter.key == key))
        return expires if expires is not None else time.time()

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        async with self.db.write() as s:
            return (await s.execute(delete(RateLimitCounter))).rowcount

    async def clear(self, key: str) -> None:
        async with self.db.write() as s:
            await s.execute(delete(RateLimitCounter).where(RateLimitCounter.key == key))

    async def purge_expired(self) -> int:
        async with self.db.write() as s:
            return (await s.execute(delete(RateLimitCounter).where(RateLimitCounter.expires_at < time.time()))).rowcount


class RateLimiter:
    def __init__(self, storage: Storage, overrides: dict[str, str], enabled: bool = True) -> None:
        self.storage = storage
        self.enabled = enabled
        self.items: dict[str, RateLimitItem] = {
            route: parse(limit) for route, limit in {**FILE_UPLOAD_LIMITS, **overrides}.items()
        }
        self._limiter = FixedWindowRateLimiter(storage)

    async def hit(self, route: str, key_id: str) -> None:
        """Count one request of `key_id` on `route`; raise RateLimited past the route's limit."""
        item = self.items.get(route)
        if not self.enabled or item is None:
            return
        if await self._limiter.hit(item, key_id, route):
            return
        RATE_LIMIT_REFUSALS.labels(route).inc()
        stats = await self._limiter.get_window_stats(item, key_id, route)
        raise RateLimited(str(item), max(1, math.ceil(stats.reset_time - time.time())))


class LoginThrottle:
    """Login attempts counted per username and per client address, each against its own limit (limits
    syntax, e.g. "10/minute"; None or empty: not counted). Every attempt counts, before its password
    is checked, so guessing costs the guesser the window and the server no hashing past the limit."""

    def __init__(self, storage: Storage, per_user: str | None, per_address: str | None) -> None:
        self._limiter = FixedWindowRateLimiter(storage)
        self.per_user = parse(per_user) if per_user else None
        self.per_address = parse(per_address) if per_address else None

    async def hit(self, username: str, address: str | None) -> None:
        # Hashed: a username is whatever a client sends, and the counter key is stored.
        user = hashlib.sha256(username.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()[:32]
        for item, scope, key in ((self.per_user, "login:user", user), (self.per_address, "login:address", address)):
            if item is None or not key:
                continue
            if not await self._limiter.hit(item, scope, key):
                RATE_LIMIT_REFUSALS.labels(scope).inc()  # `login:user` or `login:address`: which limit refused
                stats = await self._limiter.get_window_stats(item, scope, key)
                raise RateLimited(str(item), max(1, math.ceil(stats.reset_time - time.time())))


def open_storage(db: Database, redis_url: str | None) -> Storage:
    if redis_url:
        return RedisStorage(f"async+{redis_url}", implementation="redispy", key_prefix="omnidrop")
    return SqlStorage(db)


def open_limiter(db: Database, redis_url: str | None, overrides: dict[str, str], enabled: bool) -> RateLimiter:
    return RateLimiter(open_storage(db, redis_url), overrides, enabled)

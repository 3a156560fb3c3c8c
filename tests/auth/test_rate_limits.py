import asyncio
import re
import uuid

import pytest

from omnidrop.auth.rate_limits import FILE_UPLOAD_LIMITS, RateLimited, open_limiter
from omnidrop.db.engine import Database

REDIS_URL = "redis://127.0.0.1:6379/15"


def spec_table(spec_dir) -> dict[str, str]:
    text = (spec_dir / "file-upload-api.md").read_text()
    table = text.split("EndpointLimit", 1)[1].split("Examples", 1)[0]
    rows = {}
    for line in table.strip().splitlines():
        m = re.match(r"^(.*?)(\d+) / (hour|minute)$", line.strip())
        if m:
            rows[m.group(1).strip()] = f"{m.group(2)}/{m.group(3)}"
    return rows


def test_limits_are_the_spec_table_word_for_word(spec_dir):
    assert spec_table(spec_dir) == FILE_UPLOAD_LIMITS


async def hammer(limiters, route: str, key: str, hits: int) -> int:
    async def one(limiter) -> bool:
        try:
            await limiter.hit(route, key)
            return True
        except RateLimited:
            return False

    results = await asyncio.gather(*(one(limiters[i % len(limiters)]) for i in range(hits)))
    return sum(results)


@pytest.mark.parametrize("backend", ["database", "redis"])
async def test_exactly_the_limit_passes_across_processes(db_url, backend):
    # Two limiters on two connection pools stand for two server processes.
    dbs = [Database(db_url), Database(db_url)]
    url = REDIS_URL if backend == "redis" else None
    limiters = [open_limiter(d, url, {}, True) for d in dbs]
    key = uuid.uuid4().hex
    try:
        assert await hammer(limiters, "POST /uploads", key, 45) == 30
        with pytest.raises(RateLimited) as info:
            await limiters[0].hit("POST /uploads", key)
        assert 3000 < info.value.retry_after <= 3600
        assert info.value.limit == "30 per 1 hour"
        # Other keys and other routes have their own counters.
        await limiters[1].hit("POST /uploads", uuid.uuid4().hex)
        await limiters[1].hit("POST /projects", key)
    finally:
        for d in dbs:
            await d.dispose()


async def test_window_resets_and_overrides_apply(db):
    limiter = open_limiter(db, None, {"GET /projects/{name}": "2/second"}, True)
    key = uuid.uuid4().hex
    await limiter.hit("GET /projects/{name}", key)
    await limiter.hit("GET /projects/{name}", key)
    with pytest.raises(RateLimited) as info:
        await limiter.hit("GET /projects/{name}", key)
    assert info.value.retry_after >= 1
    await asyncio.sleep(1.1)
    await limiter.hit("GET /projects/{name}", key)


async def test_disabled_limiter_and_unknown_routes_never_refuse(db):
    off = open_limiter(db, None, {"POST /uploads": "1/hour"}, False)
    for _ in range(3):
        await off.hit("POST /uploads", "k")
    on = open_limiter(db, None, {}, True)
    for _ in range(3):
        await on.hit("GET /not-limited", "k")

"""Alembic has one head, and `omnidrop.db.migrate.upgrade` ("heads") brings every database to it: a new
one, one already at the two heads the migrations had before 0008_merge_heads, and the suite's own."""

from alembic.script import ScriptDirectory
from sqlalchemy import text

from omnidrop.db.engine import Database
from omnidrop.db.migrate import alembic_config, upgrade_async

OLD_HEADS = ["0006_walkthrough_points", "0007_capture_processing"]  # what alembic_version held until 0008


def script_heads(url: str) -> list[str]:
    return ScriptDirectory.from_config(alembic_config(url)).get_heads()


async def versions(url: str) -> list[str]:
    db = Database(url)
    try:
        async with db.read() as s:
            return sorted(await s.scalars(text("SELECT version_num FROM alembic_version")))
    finally:
        await db.dispose()


def test_there_is_exactly_one_head():
    assert script_heads("sqlite://") == ["0009_decode_skipped"]


async def test_a_new_database_is_upgraded_to_the_one_head(empty_db_url):
    await upgrade_async(empty_db_url)
    assert await versions(empty_db_url) == script_heads(empty_db_url)
    await upgrade_async(empty_db_url)  # again: nothing to do
    assert await versions(empty_db_url) == ["0009_decode_skipped"]


async def test_a_database_at_the_old_heads_is_upgraded_to_the_one_head(empty_db_url):
    for revision in OLD_HEADS:
        await upgrade_async(empty_db_url, revision)
    assert await versions(empty_db_url) == OLD_HEADS  # as a database migrated before 0008 was written
    await upgrade_async(empty_db_url)
    assert await versions(empty_db_url) == script_heads(empty_db_url)


async def test_the_suites_databases_are_at_the_head(db_url):
    assert await versions(db_url) == script_heads(db_url)

"""Alembic has one head, and `omnidrop.db.migrate.upgrade` ("heads") brings every database to it: a new
one, one already at the two heads the migrations had before 0008_merge_heads, and the suite's own."""

import asyncio
import subprocess
import sys

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
    assert len(script_heads("sqlite://")) == 1


async def test_a_new_database_is_upgraded_to_the_one_head(empty_db_url):
    await upgrade_async(empty_db_url)
    assert await versions(empty_db_url) == script_heads(empty_db_url)
    await upgrade_async(empty_db_url)  # again: nothing to do
    assert await versions(empty_db_url) == script_heads(empty_db_url)


async def test_a_database_at_the_old_heads_is_upgraded_to_the_one_head(empty_db_url):
    for revision in OLD_HEADS:
        await upgrade_async(empty_db_url, revision)
    assert await versions(empty_db_url) == OLD_HEADS  # as a database migrated before 0008 was written
    await upgrade_async(empty_db_url)
    assert await versions(empty_db_url) == script_heads(empty_db_url)


async def test_the_suites_databases_are_at_the_head(db_url):
    assert await versions(db_url) == script_heads(db_url)


def test_nodes_upgrading_a_fresh_database_at_once_all_succeed(empty_db_url):
    """Several nodes starting together on a new database: without the migration lock two of them both
    found it empty and both created the tables (PostgreSQL: pg_type_typname_nsp_index; SQLite:
    "table ... already exists")."""
    code = f"from omnidrop.db.migrate import upgrade; upgrade({empty_db_url!r})"
    nodes = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE) for _ in range(3)]
    errors = [node.communicate(timeout=300)[1].decode()[-400:] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0, 0], errors
    assert asyncio.run(versions(empty_db_url)) == script_heads(empty_db_url)


async def _rows(url: str, sql: str) -> list[tuple]:
    db = Database(url)
    try:
        async with db.read() as s:
            return [tuple(r) for r in (await s.execute(text(sql))).all()]
    finally:
        await db.dispose()


async def test_hardening_inputs_gives_existing_walkthrough_projects_per_owner_keys_and_back(empty_db_url):
    import asyncio

    from alembic import command

    await upgrade_async(empty_db_url, "0010_cluster_rounds_outbox")
    db = Database(empty_db_url)
    try:
        async with db.write() as s:
            for sql in (
                "INSERT INTO owners (id, name, created_at, uploads_forbidden) VALUES ('o1', 'one', '2026-01-01', false)",
                "INSERT INTO walkthrough_projects (id, owner_id, name, created_at) VALUES ('evercam', 'o1', 'HQ', '2026-01-01')",
                "INSERT INTO walkthrough_drawings (project_id, name, north, south, east, west, created_at) "
                "VALUES ('evercam', 'L1', 1, 0, 1, 0, '2026-01-01')",
                "INSERT INTO walkthrough_uploads (owner_id, project_id, floor_id, name, date, processing_status, "
                "uploaded_by, is_timelapse, inserted_at, updated_at) SELECT 'o1', 'evercam', id, 'walk', '2026-01-01', "
                "'created', 'a@b.c', false, '2026-01-01', '2026-01-01' FROM walkthrough_drawings",
            ):
                await s.execute(text(sql))
    finally:
        await db.dispose()
    await upgrade_async(empty_db_url)
    assert await _rows(empty_db_url, "SELECT id, owner_id, name FROM walkthrough_projects") == [("o1:evercam", "o1", "HQ")]
    assert await _rows(empty_db_url, "SELECT project_id FROM walkthrough_drawings") == [("o1:evercam",)]
    assert await _rows(empty_db_url, "SELECT project_id FROM walkthrough_uploads") == [("o1:evercam",)]
    await asyncio.to_thread(command.downgrade, alembic_config(empty_db_url), "0010_cluster_rounds_outbox")
    assert await _rows(empty_db_url, "SELECT id FROM walkthrough_projects") == [("evercam",)]
    assert await _rows(empty_db_url, "SELECT project_id FROM walkthrough_uploads") == [("evercam",)]

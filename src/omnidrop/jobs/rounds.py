"""Who runs a periodic chore (the sweep, the reaper, outbox delivery) this round.

Every worker keeps the schedule; before each round it asks the database. One conditional UPDATE on
the database's clock moves the round's `until` forward, and only the worker whose UPDATE matched
runs it. No worker is special: if the one that ran the last round dies, its round simply ends and the
next worker to ask takes the following one. The same SQL works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from omnidrop.db.clock import db_now
from omnidrop.db.engine import Database
from omnidrop.db.models import ClusterRound


class Rounds:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def take(self, name: str, holder: str, period: timedelta) -> bool:
        """True if `holder` runs round `name` now; the next round opens `period` later (database time)."""
        async with self.db.write() as s:
            now = await db_now(s)
            insert = sqlite_insert if s.bind.dialect.name == "sqlite" else pg_insert
            # The first round ever: whoever inserts the row runs it.
            created = await s.execute(insert(ClusterRound).values(name=name, holder=holder, until=now + period)
                                      .on_conflict_do_nothing(index_elements=["name"]))
            if created.rowcount == 1:
                return True
            taken = await s.execute(update(ClusterRound)
                                    .where(ClusterRound.name == name, ClusterRound.until <= now)
                                    .values(holder=holder, until=now + period))
            return taken.rowcount == 1

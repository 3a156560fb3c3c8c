"""The schedule every worker keeps: each tick, chores run once across the cluster.

A chore named in `rounds` runs on the one worker that takes that round's lease in the database (the
sweep, the reaper); a chore in `every_tick` runs on every worker because it divides its work by
claims of its own (outbox delivery). Killing any worker loses nothing: the others take the next round.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta

from omnidrop.db.engine import Database
from omnidrop.jobs import scratch
from omnidrop.jobs.rounds import Rounds
from omnidrop.settings import Settings

log = logging.getLogger(__name__)
Chore = Callable[[Settings], Awaitable[object]]


class Housekeeper:
    def __init__(self, settings: Settings, holder: str, *, rounds: dict[str, Chore],
                 every_tick: dict[str, Chore] | None = None, periods: dict[str, float] | None = None) -> None:
        self.settings = settings
        self.holder = holder
        self.rounds = rounds
        self.every_tick = every_tick or {}
        # A round's length, cluster-wide: by default one tick; longer for costly chores (the reaper
        # scans tables and lists the bucket's open uploads).
        self.periods = {name: timedelta(seconds=max(settings.housekeeping_seconds, (periods or {}).get(name, 0)))
                        for name in rounds}

    async def tick(self) -> list[str]:
        """One tick; returns the names of the chores this worker ran."""
        ran: list[str] = []
        scratch.remove_dead(self.settings.resolved_scratch_dir)
        db = Database(self.settings.resolved_database_url, pool_size=1)
        try:
            taken = Rounds(db)
            for name, chore in self.rounds.items():
                if await taken.take(name, self.holder, self.periods[name]) and await self._run(name, chore):
                    ran.append(name)
        finally:
            await db.dispose()
        for name, chore in self.every_tick.items():
            if await self._run(name, chore):
                ran.append(name)
        return ran

    async def _run(self, name: str, chore: Chore) -> bool:
        try:
            await chore(self.settings)
        except Exception:  # one failing chore must not starve the others; the next round retries
            log.exception("housekeeping chore %s failed", name)
            return False
        return True

    def start(self) -> threading.Event:
        """Tick on a daemon thread until the returned event is set."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(self.settings.housekeeping_seconds):
                try:
                    asyncio.run(self.tick())
                except Exception:
                    log.exception("housekeeping tick failed")

        threading.Thread(target=loop, name="omnidrop-housekeeping", daemon=True).start()
        return stop

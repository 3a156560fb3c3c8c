"""The cluster's periodic chores, registered with the job mechanism by name at composition (omnidrop.worker).

Every worker keeps the schedule (jobs/housekeeping.py): `sweep` and `reap` run on the one worker that
takes the round's lease; `outbox` runs on every worker, which divide the events by claims.
"""

from __future__ import annotations

from omnidrop.jobs import runner
from omnidrop.jobs.registry import register_chore
from omnidrop.jobs.runner import worker_id
from omnidrop.services import OUTBOX_CHORE, Services
from omnidrop.settings import Settings
from omnidrop.uploads.outbox import OutboxDelivery

ROUNDS = ("sweep", "reap")
EVERY_TICK = (OUTBOX_CHORE,)


async def deliver_outbox(settings: Settings) -> int:
    services = Services.open(settings)
    try:
        return await OutboxDelivery(services.db, services.outbox_sinks, worker_id()).deliver_due()
    finally:
        await services.close()


def register_chores() -> None:
    register_chore("sweep", runner.sweep)
    register_chore("reap", runner.reap)
    register_chore(OUTBOX_CHORE, deliver_outbox)

"""`omnidrop worker`: a Huey consumer that runs jobs. Start several on any machines at scale."""

from __future__ import annotations

import logging
import shutil

import typer


def worker(
    threads: int = typer.Option(None, help="Jobs run at once (default: OMNIDROP_WORKER_THREADS)."),
    periodic: bool = typer.Option(True, help="Keep the schedule (sweep, reaper, outbox). Safe on every worker: "
                                  "a lease in the database picks the one that runs each round."),
) -> None:
    """Run background jobs until SIGINT (finish running jobs) or SIGTERM (stop now)."""
    from huey.consumer import Consumer

    from omnidrop.chores import EVERY_TICK, ROUNDS
    from omnidrop.jobs import runner, scratch
    from omnidrop.jobs.housekeeping import Housekeeper
    from omnidrop.jobs.queue import huey
    from omnidrop.jobs.registry import chore_for
    from omnidrop.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    # Jobs' temporary files go to a folder named after this process; a killed worker's folder is removed
    # by the next worker on this machine (SIGKILL runs no cleanup).
    scratch.remove_dead(settings.resolved_scratch_dir)
    own_scratch = scratch.use_own_scratch(settings.resolved_scratch_dir)
    # Jobs orphaned by a worker that died before us: lapsed leases go back on the queue now, not in a minute.
    runner.sweep_sync()
    if periodic:
        Housekeeper(settings, runner.worker_id(), rounds={n: chore_for(n) for n in ROUNDS},
                    every_tick={n: chore_for(n) for n in EVERY_TICK},
                    periods={"reap": settings.reap_seconds}).start()
    # Huey's idle backoff would reach 10 s between polls; a job queued after a quiet spell should start
    # within a second (one cheap poll per second per thread on SQLite or Redis).
    try:
        Consumer(huey, workers=threads or settings.worker_threads, worker_type="thread", periodic=False,
                 max_delay=1.0).run()
    finally:  # a graceful stop cleans up after itself; a killed worker's folder waits for the next one
        shutil.rmtree(own_scratch, ignore_errors=True)

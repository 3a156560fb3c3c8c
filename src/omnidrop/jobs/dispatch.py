"""Send "run job X" to the queue from any process. Huey's client calls are blocking, so async
callers go through a thread (an enqueue on SQLite can wait for the file lock)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from omnidrop.jobs.store import DEFAULT_QUEUE
from omnidrop.telemetry.context import REQUEST_ID

# What domain services are handed to send a job they have just committed (by the composition root,
# so a test can hand in its own).
Dispatch = Callable[[str], Awaitable[None]]


def send(job_id: str, delay: float = 0.0, queue: str = DEFAULT_QUEUE) -> None:
    """The message carries the id of the request (or job) that sends it, so the job's log lines have it.
    `queue`: the job's queue (the jobs table's `queue`); only workers consuming it run the job."""
    from omnidrop.jobs.queue import queue_for  # builds the Huey instance on first use

    _, run_job = queue_for(queue)
    request_id = REQUEST_ID.get()
    if delay > 0:
        run_job.schedule(args=(job_id, request_id), delay=delay)
    else:
        run_job(job_id, request_id)


async def dispatch(job_id: str, delay: float = 0.0, queue: str = DEFAULT_QUEUE) -> None:
    await asyncio.to_thread(send, job_id, delay, queue)


def send_chore(name: str) -> None:
    from omnidrop.jobs.queue import run_chore

    run_chore(name)


async def dispatch_chore(name: str) -> None:
    await asyncio.to_thread(send_chore, name)

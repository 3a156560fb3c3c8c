"""Running one job: claim it under a lease, heartbeat while the handler works, record the outcome."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from omnidrop.jobs.dispatch import dispatch
from omnidrop.jobs.errors import JobFailed
from omnidrop.jobs.outputs import drop_failed, reap_orphans
from omnidrop.jobs.registry import HANDLERS, HOUSEKEEPING, Handler, JobServices, handler_for, open_services
from omnidrop.jobs.store import DEFAULT_QUEUE, ClaimedJob, JobStore
from omnidrop.settings import Settings, get_settings
from omnidrop.telemetry.context import JOB_ID, REQUEST_ID
from omnidrop.telemetry.metrics import JOB_DURATION, LEASE_TAKEOVERS

log = logging.getLogger(__name__)
RETRY_BACKOFF_SECONDS = (5, 30, 120)
REPORT_EVERY = 0.5  # seconds between progress reports while a handler's thread works
T = TypeVar("T")


class LeaseLost(Exception):
    """Another worker took the job over (our lease lapsed): stop without recording anything."""


class JobContext:
    """What a handler gets: the job, the app's services, and a way to report progress."""

    def __init__(self, job: ClaimedJob, services: JobServices, store: JobStore, worker: str) -> None:
        self.job = job
        self.services: Any = services  # the app's own object (the composition root opened it)
        self.settings = services.settings
        self._store = store
        self._worker = worker
        self._lost = False
        self._last_report = 0.0

    async def progress(self, fraction: float) -> None:
        """Record progress (0..1), at most once a second; raises LeaseLost if the job was taken over."""
        now = time.monotonic()
        if now - self._last_report < 1.0 and fraction < 1.0:
            self.check()
            return
        self._last_report = now
        if not await self._store.heartbeat(self.job.id, self._worker, max(0.0, min(1.0, fraction))):
            self._lost = True
        self.check()

    def check(self) -> None:
        if self._lost:
            raise LeaseLost()

    async def on_thread(self, work: Callable[[Callable[[float], None]], T], *, start: float = 0.0,
                        end: float = 1.0) -> T:
        """`work(progress)` on a thread (decoding, rendering), while this task reports the fraction it
        last gave `progress` as the job's progress from `start` to `end`, and so notices a lost lease."""
        done = [0.0]  # written by the thread, read here
        task = asyncio.ensure_future(asyncio.to_thread(work, lambda f: done.__setitem__(0, f)))
        while not task.done():
            await asyncio.wait({task}, timeout=REPORT_EVERY)
            await self.progress(start + (end - start) * done[0])
        return task.result()

    async def heartbeat_forever(self) -> None:
        interval = self._store.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            if not await self._store.heartbeat(self.job.id, self._worker):
                self._lost = True
                return


def worker_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{threading.get_ident()}"  # fits the 64-char column


async def run_job(job_id: str, settings: Settings | None = None, request_id: str | None = None) -> None:
    """`request_id`: of the request that started the job, for its log lines (and any job it sends)."""
    settings = settings or get_settings()
    request_token, job_token = REQUEST_ID.set(request_id), JOB_ID.set(job_id)
    services = open_services(settings)
    try:
        store = JobStore(services.db, settings.job_lease_seconds)
        worker = worker_id()
        job = await store.claim(job_id, worker)
        if job is None:  # done already, or another worker holds a live lease
            return
        log.info("job %s (%s) attempt %d started", job.id, job.kind, job.attempts)
        started = time.monotonic()
        outcome = await _run_claimed(job, services, store, worker)
        took = time.monotonic() - started
        JOB_DURATION.labels(job.kind, outcome).observe(took)
        log.info("job %s (%s) attempt %d %s after %.2f s", job.id, job.kind, job.attempts, outcome, took)
    finally:
        await services.close()
        JOB_ID.reset(job_token)
        REQUEST_ID.reset(request_token)


async def _run_claimed(job: ClaimedJob, services: JobServices, store: JobStore, worker: str) -> str:
    """Run the handler and record how it ended; returns the outcome (done, failed, retried, lease_lost)."""
    ctx = JobContext(job, services, store, worker)
    handler = handler_for(job.kind)
    beat = asyncio.create_task(ctx.heartbeat_forever())
    try:
        await handler.run(ctx)
        ctx.check()
    except LeaseLost:
        return _taken_over(job)
    except JobFailed as exc:
        if not await store.fail(job.id, worker, f"{exc.code}: {exc.message}"):
            return _taken_over(job)
        await failed_for_good(handler, ctx, exc.code, exc.message)
        return "failed"
    except Exception as exc:
        log.exception("job %s (%s) failed on attempt %d", job.id, job.kind, job.attempts)
        message = f"{type(exc).__name__}: {exc}"
        if job.attempts >= job.max_attempts:
            if not await store.fail(job.id, worker, message):
                return _taken_over(job)
            await failed_for_good(handler, ctx, "processing_failed", message)
            return "failed"
        if not await store.retry(job.id, worker, message):
            return _taken_over(job)
        delay = RETRY_BACKOFF_SECONDS[min(job.attempts - 1, len(RETRY_BACKOFF_SECONDS) - 1)]
        await dispatch(job.id, delay, job.queue)  # carries the request id on (telemetry.context)
        return "retried"
    finally:
        beat.cancel()
    if not await store.finish(job.id, worker):
        return _taken_over(job)
    return "done"


def _taken_over(job: ClaimedJob) -> str:
    """This attempt's lease went to another one (it paused past it, or its errors came from the other
    attempt's work): the job and its subject are that attempt's to end, so nothing is recorded here."""
    LEASE_TAKEOVERS.labels("job").inc()
    log.warning("job %s was taken over by another worker", job.id)
    return "lease_lost"


async def failed_for_good(handler: Handler, ctx: JobContext, code: str, message: str) -> None:
    """The subject records its reason, then the attempts' outputs go. A crash in between leaves them
    to the orphan reaper only if the subject goes too; the failed job is not run again."""
    await handler.failed(ctx, code, message)
    await drop_failed(handler.outputs, ctx.services, ctx.job.subject_id)


async def reap_orphan_outputs(services: Any) -> int:
    """Housekeeping: the outputs of every registered kind whose subject row is gone (jobs/outputs.py)."""
    return await reap_orphans(services, [h.outputs for h in HANDLERS.values() if h.outputs is not None])


async def sweep(settings: Settings | None = None) -> int:
    settings = settings or get_settings()
    services = open_services(settings)
    try:
        store = JobStore(services.db, settings.job_lease_seconds)
        ids = await store.lapsed(timedelta(seconds=settings.job_sweep_seconds))
        queues = await store.queues(ids)
        waiting: dict[str, set[str]] = {}
        sent = 0
        for job_id in ids:
            queue = queues.get(job_id, DEFAULT_QUEUE)
            if queue != DEFAULT_QUEUE:
                # A named queue may have no worker for hours (no GPU machine yet): its jobs stay queued on
                # purpose. Re-send only a message that is really gone, so waiting jobs do not pile up copies.
                if queue not in waiting:
                    waiting[queue] = await asyncio.to_thread(_pending, queue)
                if job_id in waiting[queue]:
                    continue
            await dispatch(job_id, 0.0, queue)
            sent += 1
        if sent:
            log.info("sweep re-sent %d jobs", sent)
        return sent
    finally:
        await services.close()


async def reap(settings: Settings | None = None) -> None:
    """The housekeeping the app registered (expired uploads, stale counters), each task on its own."""
    services = open_services(settings or get_settings())
    try:
        for name, task in HOUSEKEEPING.items():
            try:
                await task(services)
            except Exception:  # one failing task must not starve the others; the next run tries again
                log.exception("housekeeping %s failed", name)
    finally:
        await services.close()


def _pending(queue: str) -> set[str]:
    from omnidrop.jobs.queue import pending_job_ids

    return pending_job_ids(queue)


def run_job_sync(job_id: str, request_id: str | None = None) -> None:
    asyncio.run(run_job(job_id, request_id=request_id))


def sweep_sync() -> None:
    asyncio.run(sweep())


def reap_sync() -> None:
    asyncio.run(reap())

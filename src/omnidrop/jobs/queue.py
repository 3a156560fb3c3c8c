"""The Huey instance and its tasks. Huey carries only "run job X"; state lives in the jobs table.

Embedded default: SqliteHuey in the data dir (several processes may share it). At scale:
OMNIDROP_QUEUE_URL=redis://… and `omnidrop worker` processes on any machine.
"""

from __future__ import annotations

from pathlib import Path

from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey

from omnidrop.jobs import runner
from omnidrop.settings import Settings, get_settings


def make_huey(settings: Settings) -> Huey:
    url = settings.resolved_queue_url
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(settings.queue_name, url=url)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(settings.queue_name, filename=str(path), timeout=30)
    raise ValueError(f"unsupported OMNIDROP_QUEUE_URL {url!r} (sqlite:///path or redis://…)")


huey = make_huey(get_settings())


@huey.task(name="omnidrop.run_job")
def run_job(job_id: str, request_id: str | None = None) -> None:
    runner.run_job_sync(job_id, request_id)


@huey.periodic_task(crontab(minute="*"), name="omnidrop.sweep")
def sweep() -> None:
    """Re-send jobs whose worker died (lease lapsed) or whose message was lost."""
    runner.sweep_sync()


@huey.periodic_task(crontab(minute="*"), name="omnidrop.reap")
def reap() -> None:
    """The housekeeping the app registered at composition (expired uploads, stale rate-limit counters)."""
    runner.reap_sync()

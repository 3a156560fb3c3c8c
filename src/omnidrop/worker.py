"""The job worker's composition root: where omnidrop's job kinds, the services their handlers get,
and the scheduled housekeeping are plugged into the job mechanism (omnidrop.jobs), which knows none
of them. `omnidrop worker` calls compose() before it consumes the queue; so does any process that
runs jobs itself (tests)."""

from __future__ import annotations

from omnidrop.chores import register_chores
from omnidrop.jobs import registry
from omnidrop.jobs.runner import reap_orphan_outputs
from omnidrop.pipeline.handlers import BUILTIN_KINDS
from omnidrop.services import Services


def compose() -> None:
    """Register everything a job needs. Safe to call again: it replaces, never duplicates."""
    registry.provide_services(Services.open)  # with the queue's dispatcher: jobs may start more jobs
    for kind, handler in BUILTIN_KINDS.items():
        registry.register(kind, handler)
    registry.add_housekeeping("expired uploads", Services.reap_expired)
    registry.add_housekeeping("stranded completions", Services.finish_stranded)  # writer died before `complete`
    registry.add_housekeeping("orphan outputs", reap_orphan_outputs)  # of subjects deleted since
    register_chores()  # the sweep, the reaper and outbox delivery, kept by every worker

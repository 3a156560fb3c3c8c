"""What the app plugs into the job mechanism: a handler per job kind, how a job opens the app's
services, and the periodic housekeeping. The composition root (omnidrop.worker) fills these in; the
mechanism itself names no kind and imports no service, so it sits below everything it runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from omnidrop.jobs.outputs import Outputs

if TYPE_CHECKING:
    from omnidrop.db.engine import Database
    from omnidrop.jobs.runner import JobContext
    from omnidrop.settings import Settings


@dataclass(frozen=True)
class Handler:
    run: Callable[[JobContext], Awaitable[None]]
    # Called once when the job has failed for good, to record the reason on its subject.
    failed: Callable[[JobContext, str, str], Awaitable[None]]
    # Where its outputs live, for removing those no subject owns (jobs/outputs.py); None: it keeps none.
    outputs: Outputs | None = None


class JobServices(Protocol):
    """The part of the app's services the runner itself uses; handlers get the whole object."""

    settings: Settings
    db: Database

    async def close(self) -> None: ...


class NotComposed(LookupError):
    """The process runs jobs without having registered what they need (a kind, the services)."""


HANDLERS: dict[str, Handler] = {}
# By name, so composing twice (tests, a restarted worker) replaces instead of running a task twice.
HOUSEKEEPING: dict[str, Callable[[Any], Awaitable[object]]] = {}
_services: list[Callable[[Settings], JobServices]] = []


def register(kind: str, handler: Handler) -> None:
    HANDLERS[kind] = handler


def provide_services(open_services: Callable[[Settings], JobServices]) -> None:
    _services[:] = [open_services]


def add_housekeeping(name: str, task: Callable[[Any], Awaitable[object]]) -> None:
    """`task(services)` runs in the `reap` chore, on the one worker that takes the reap round."""
    HOUSEKEEPING[name] = task


def handler_for(kind: str) -> Handler:
    try:
        return HANDLERS[kind]
    except KeyError:
        raise NotComposed(f"no handler for job kind {kind!r}: is omnidrop.worker.compose() called?") from None


def open_services(settings: Settings) -> JobServices:
    if not _services:
        raise NotComposed("no services for jobs: is omnidrop.worker.compose() called?")
    return _services[0](settings)


# Periodic chores (the sweep, the reaper, outbox delivery): name -> async fn(settings). Registered where
# the app is composed (omnidrop.worker); workers run them on their schedule (jobs/housekeeping.py) or
# when a message asks (jobs/queue.py run_chore).
CHORES: dict[str, Callable[..., Awaitable[object]]] = {}


def register_chore(name: str, chore: Callable[..., Awaitable[object]]) -> None:
    CHORES[name] = chore


def chore_for(name: str) -> Callable[..., Awaitable[object]]:
    try:
        return CHORES[name]
    except KeyError:
        raise NotComposed(f"no chore {name!r}: is omnidrop.worker.compose() called?") from None

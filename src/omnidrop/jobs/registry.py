"""Job kinds and their handlers. Pipeline modules register themselves; the runner looks them up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omnidrop.jobs.runner import JobContext


@dataclass(frozen=True)
class Handler:
    run: Callable[[JobContext], Awaitable[None]]
    # Called once when the job has failed for good, to record the reason on its subject.
    failed: Callable[[JobContext, str, str], Awaitable[None]]


HANDLERS: dict[str, Handler] = {}


def register(kind: str, handler: Handler) -> None:
    HANDLERS[kind] = handler


def handler_for(kind: str) -> Handler:
    # Importing the pipeline registers every built-in kind.
    import omnidrop.pipeline.handlers  # noqa: F401

    return HANDLERS[kind]


# Periodic chores (the sweep, the reaper, outbox delivery): name -> async fn(settings). Registered where
# the app is composed (omnidrop.chores); workers run them on their schedule or when a message asks.
CHORES: dict[str, Callable[..., Awaitable[object]]] = {}


def register_chore(name: str, chore: Callable[..., Awaitable[object]]) -> None:
    CHORES[name] = chore


def chore_for(name: str) -> Callable[..., Awaitable[object]]:
    import omnidrop.chores  # noqa: F401

    return CHORES[name]

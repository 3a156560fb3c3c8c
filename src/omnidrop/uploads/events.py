"""Upload lifecycle events: an in-process bus that surfaces, webhooks and the pipeline subscribe to.

Two kinds of subscriber:
  * checks run before an upload is created and may refuse it (raise `CreationRejected`); they are
    awaited in order, and the first refusal wins;
  * listeners hear `created`, `finished` and `terminated` after the fact; each runs in its own
    task so a slow or failing listener never delays or breaks the request that caused the event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from omnidrop.db.types import utcnow
from omnidrop.uploads.errors import UploadError

log = logging.getLogger(__name__)

CREATED = "created"
FINISHED = "finished"
TERMINATED = "terminated"
PRE_CREATE = "pre-create"


@dataclass(frozen=True)
class UploadEvent:
    type: str
    upload_id: str  # for pre-create: the id the upload will get if it is accepted
    owner_id: str
    protocol: str  # "tus" or "ietf"
    size: int | None  # the declared length; None while deferred
    offset: int = 0
    meta: dict[str, str | None] = field(default_factory=dict)
    concat: str = ""
    at: datetime = field(default_factory=utcnow)

    def as_dict(self) -> dict:
        return {
            "type": self.type, "upload_id": self.upload_id, "owner_id": self.owner_id, "protocol": self.protocol,
            "size": self.size, "offset": self.offset, "metadata": dict(self.meta), "concat": self.concat or None,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> UploadEvent:
        """The event back from `as_dict` (the outbox stores it as JSON)."""
        return cls(d["type"], d["upload_id"], d["owner_id"], d["protocol"], d["size"], d["offset"],
                   dict(d["metadata"]), d["concat"] or "", datetime.fromisoformat(d["at"]))


class CreationRejected(UploadError):
    """A pre-create check refused the upload; `status` and the message go back to the client."""

    code = "creation_rejected"

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message, status=status)
        self.status = status


Check = Callable[[UploadEvent], Awaitable[None]]
Listener = Callable[[UploadEvent], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._checks: list[Check] = []
        self._listeners: list[tuple[frozenset[str], Listener]] = []
        self._running: set[asyncio.Task] = set()

    def add_check(self, check: Check) -> None:
        self._checks.append(check)

    def subscribe(self, listener: Listener, *types: str) -> None:
        """Hear events of `types` (all of them if none are named)."""
        self._listeners.append((frozenset(types or (CREATED, FINISHED, TERMINATED)), listener))

    async def check(self, event: UploadEvent) -> None:
        for check in self._checks:
            await check(event)

    def publish(self, event: UploadEvent) -> None:
        for types, listener in self._listeners:
            if event.type in types:
                task = asyncio.get_running_loop().create_task(self._deliver(listener, event))
                self._running.add(task)
                task.add_done_callback(self._running.discard)

    @staticmethod
    async def _deliver(listener: Listener, event: UploadEvent) -> None:
        try:
            await listener(event)
        except Exception:
            log.exception("upload event listener %r failed on %s %s", listener, event.type, event.upload_id)

    async def drain(self) -> None:
        """Wait for the listeners now running (shutdown, tests)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

"""What one request (or one job) carries along without passing it through every call: its request id,
and the tally of its upload body. Context variables, so concurrent requests never see each other's."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from typing import Protocol

REQUEST_ID: ContextVar[str | None] = ContextVar("omnidrop_request_id", default=None)
JOB_ID: ContextVar[str | None] = ContextVar("omnidrop_job_id", default=None)

# A client's X-Request-ID is kept when it is a plain token: it lands in log lines and job messages.
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


def request_id_from(header: str | None) -> str:
    """The client's id when usable, else a new one."""
    if header and _CLIENT_ID.match(header):
        return header
    return uuid.uuid4().hex


class BodyTally(Protocol):
    """One request's upload body (telemetry/asgi.py keeps it), counted at the request's end, so the body
    loop itself does no metrics work."""

    def taken(self, protocol: str) -> None: ...

    def add(self, received: int, stored: int) -> None: ...


BODY: ContextVar[BodyTally | None] = ContextVar("omnidrop_body", default=None)


def body_taken(protocol: str) -> None:
    """A protocol starts reading this request's body: an upload in flight from now on."""
    tally = BODY.get()
    if tally is not None:
        tally.taken(protocol)


def body_counted(received: int, stored: int) -> None:
    """The bytes one write took from the body and the store wrote; a no-op outside a request (jobs)."""
    tally = BODY.get()
    if tally is not None:
        tally.add(received, stored)

"""The ASGI middleware that measures every HTTP request: its request id (a client's X-Request-ID, or a
new one, echoed in the response), its latency per route template, and its upload body's bytes and time
in flight per surface and protocol. Everything is counted once per request, after it ends; the body
loop is left alone.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from omnidrop.telemetry.context import BODY, REQUEST_ID, request_id_from
from omnidrop.telemetry.metrics import HTTP_REQUEST_DURATION, RECEIVED_BYTES, STORED_BYTES, UPLOADS_IN_FLIGHT

access_log = logging.getLogger("omnidrop.access")  # on with JSON logs (telemetry/logs.py)
UNMATCHED = "unmatched"  # no route: a 404's raw path would make a new series per probe
# metric.labels() checks and locks on every call, which was most of this middleware's cost per request;
# the label sets are few (route templates x methods x statuses), so their children are kept here.
_children: dict[tuple, Any] = {}


def _child(metric: Any, *values: str) -> Any:
    key = (metric, values)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*values)
    return found


def route_template(scope: dict) -> str:
    """The matched route's template (/api/v1/uploads/{upload_id}/...), which the router left in the scope."""
    route = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED


def surface_of(scope: dict) -> str:
    """The API surface a request reached: the module its endpoint lives in (omnidrop.surfaces.<name>)."""
    module = getattr(getattr(scope.get("route"), "endpoint", None), "__module__", "") or ""
    if module.startswith("omnidrop.surfaces."):
        return module.rsplit(".", 1)[1]
    return module.split(".")[1] if module.startswith("omnidrop.") else "app"


class _Tally:
    """One request's upload body, as the core and the protocols report it (telemetry.context)."""

    __slots__ = ("scope", "labels", "received", "stored")

    def __init__(self, scope: dict) -> None:
        self.scope = scope
        self.labels: tuple[str, str] | None = None
        self.received = 0
        self.stored = 0

    def taken(self, protocol: str) -> None:
        if self.labels is None:
            self.labels = (surface_of(self.scope), protocol)
            _child(UPLOADS_IN_FLIGHT, *self.labels).inc()

    def add(self, received: int, stored: int) -> None:
        self.received += received
        self.stored += stored

    def close(self) -> None:
        if self.labels is not None:
            _child(UPLOADS_IN_FLIGHT, *self.labels).dec()
        elif not (self.received or self.stored):
            return
        labels = self.labels or (surface_of(self.scope), "raw")
        if self.received:
            _child(RECEIVED_BYTES, *labels).inc(self.received)
        if self.stored:
            _child(STORED_BYTES, *labels).inc(self.stored)


class RequestTelemetry:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(_header(scope, b"x-request-id"))
        echoed = (b"x-request-id", request_id.encode())
        tally = _Tally(scope)
        status = 500  # unless a response starts: an exception escaped the app
        started = time.perf_counter()

        async def send_with_id(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), echoed]}
            await send(message)

        request_token, body_token = REQUEST_ID.set(request_id), BODY.set(tally)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            _child(HTTP_REQUEST_DURATION, scope["method"], route, str(status)).observe(elapsed)
            tally.close()
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("%s %s %d", scope["method"], route, status, extra={
                    "method": scope["method"], "route": route, "status": status,
                    "duration_ms": round(elapsed * 1000, 3), "received_bytes": tally.received})
            BODY.reset(body_token)
            REQUEST_ID.reset(request_token)


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None

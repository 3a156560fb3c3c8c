"""What every surface needs from the running app: the core services, and per-surface error rendering."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from annotated_types import Interval

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from omnidrop.auth.bearer import bearer_token
from omnidrop.auth.errors import AuthError
from omnidrop.auth.keys import KeyService, Principal
from omnidrop.uploads.core import UploadCore
from omnidrop.uploads.errors import UploadError


# Integers a request may carry into the database: a BIGINT column (and SQLite's INTEGER) holds 64
# signed bits, and a larger number would fail the INSERT as a server error instead of a refusal.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
Int64 = Annotated[int, Interval(ge=INT64_MIN, le=INT64_MAX)]


def core(request: Request) -> UploadCore:
    return request.app.state.services.uploads


def keys(request: Request) -> KeyService:
    return request.app.state.services.keys


async def bearer_principal(request: Request) -> Principal:
    return await keys(request).authenticate(bearer_token(request.headers.get("authorization")))


def guard(route: str, scope: str) -> Any:
    """Dependency: a bearer key with `scope`, counted against the rate limit of `route`."""

    async def check(request: Request, who: Principal = Depends(bearer_principal)) -> Principal:
        who.require(scope)
        await request.app.state.services.limiter.hit(route, who.key_id)
        return who

    return Depends(check)


ErrorRenderer = Callable[[Exception], Response]


def error_route(render: ErrorRenderer, *domain_errors: type[Exception]) -> type[APIRoute]:
    """An APIRoute class whose handler errors (upload, auth, validation, and the surface's own
    `domain_errors`) come out in one API's shape.

    Errors raised while FastAPI resolves dependencies and validates input happen inside the route
    handler, so wrapping it covers them all without app-global exception handlers that would force one
    shape on every surface.
    """
    handled = (UploadError, AuthError, RequestValidationError, *domain_errors)

    class SurfaceRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def handle(request: Request) -> Response:
                try:
                    return await handler(request)
                except handled as exc:
                    return render(exc)

            return handle

    return SurfaceRoute


# How much of an offending input a validation error echoes back.
ECHOED_INPUT_CHARS = 200


def _echoable(value: Any) -> Any:
    """An offending input as JSON can carry it: bytes (a body that was not JSON) decoded, long text
    and large containers cut, so an error never repeats a megabyte back to its sender."""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value[:ECHOED_INPUT_CHARS * 4]).decode("utf-8", "replace")
    if isinstance(value, str):
        return value if len(value) <= ECHOED_INPUT_CHARS else value[:ECHOED_INPUT_CHARS] + "…"
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = repr(value)
    return text if len(text) <= ECHOED_INPUT_CHARS else text[:ECHOED_INPUT_CHARS] + "…"


def validation_errors(exc: RequestValidationError) -> list[dict]:
    """FastAPI's validation errors (`loc`, `msg`, `type`, `input`, `ctx`), JSON-safe whatever the input was."""
    out = []
    for e in exc.errors():
        item = {"loc": [p if isinstance(p, (str, int)) else str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        if "input" in e:
            item["input"] = _echoable(e["input"])
        if e.get("ctx"):
            item["ctx"] = {str(k): _echoable(v) for k, v in e["ctx"].items()}
        out.append(item)
    return out


def validation_message(exc: RequestValidationError) -> str:
    """FastAPI's validation errors as one readable line: `body.side: Input should be …; …`."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())

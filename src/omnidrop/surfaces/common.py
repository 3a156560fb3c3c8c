"""What every surface needs from the running app: the core services, and per-surface error rendering.

Every surface's routes are built by `error_route`, which is also where limits that hold for every
route live: a body the route parses whole (a JSON model, a small form) is read against
`max_json_body_bytes` before anything parses it, and a full disk is reported as a `Refusal` rather
than a server error. Each surface renders a `Refusal` in its own error shape with the refusal's status.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from annotated_types import Interval

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from omnidrop.auth.bearer import bearer_token
from omnidrop.auth.errors import AuthError
from omnidrop.auth.keys import Principal
from omnidrop.uploads.core import UploadCore
from omnidrop.uploads.errors import UploadError
from omnidrop.uploads.storage_full import is_storage_full


# Integers a request may carry into the database: a BIGINT column (and SQLite's INTEGER) holds 64
# signed bits, and a larger number would fail the INSERT as a server error instead of a refusal.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
Int64 = Annotated[int, Interval(ge=INT64_MIN, le=INT64_MAX)]


def core(request: Request) -> UploadCore:
    return request.app.state.services.uploads


async def authenticate(request: Request, token: str) -> Principal:
    """An API key or a login token (`POST /auth/login`): every surface accepts both."""
    return await request.app.state.services.logins.authenticate(token)


async def bearer_principal(request: Request) -> Principal:
    return await authenticate(request, bearer_token(request.headers.get("authorization")))


def guard(route: str, scope: str) -> Any:
    """Dependency: a bearer key with `scope`, counted against the rate limit of `route`."""

    async def check(request: Request, who: Principal = Depends(bearer_principal)) -> Principal:
        who.require(scope)
        await request.app.state.services.limiter.hit(route, who.key_id)
        return who

    return Depends(check)


class Refusal(Exception):
    """Refused by a limit every surface shares; rendered in the surface's shape with `status`."""

    code = "refused"
    status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


class RequestTooLarge(Refusal):
    code = "request_too_large"
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than this route takes ({limit} bytes)", limit=limit)


class StorageFull(Refusal):
    code = "insufficient_storage"
    status = 507

    def __init__(self) -> None:
        super().__init__("the server has no space left to store this; what was stored before is kept")


def reads_small_body(endpoint: Callable) -> Callable:
    """Marks a route that reads its whole body itself (request.json(), request.form()) rather than
    streaming it: the body is held to the same cap as a JSON model's."""
    endpoint.reads_small_body = True  # type: ignore[attr-defined]
    return endpoint


# Bodies declared at most this many times over the cap are read and dropped before the refusal, so a
# client still sending gets the answer instead of a reset connection.
_DRAIN_FACTOR = 4


async def read_capped_body(request: Request, limit: int) -> None:
    """Reads the body (at most `limit` bytes) into the request, where FastAPI's parsing then finds it;
    raises RequestTooLarge past it."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and len(declared) < 20 and int(declared) > limit:
        if int(declared) <= _DRAIN_FACTOR * limit and request.headers.get("expect", "").lower() != "100-continue":
            async for _ in request.stream():
                pass
        raise RequestTooLarge(limit)
    pieces, size = [], 0
    async for piece in request.stream():
        size += len(piece)
        if size > limit:
            raise RequestTooLarge(limit)
        pieces.append(piece)
    request._body = b"".join(pieces)  # Starlette's own cache of a read body: request.body() returns it


ErrorRenderer = Callable[[Exception], Response]


def error_route(render: ErrorRenderer, *domain_errors: type[Exception]) -> type[APIRoute]:
    """An APIRoute class whose handler errors (upload, auth, validation, and the surface's own
    `domain_errors`) come out in one API's shape.

    Errors raised while FastAPI resolves dependencies and validates input happen inside the route
    handler, so wrapping it covers them all without app-global exception handlers that would force one
    shape on every surface.
    """
    handled = (UploadError, AuthError, RequestValidationError, Refusal, *domain_errors)

    class SurfaceRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()
            reads_whole_body = self.body_field is not None or getattr(self.endpoint, "reads_small_body", False)

            async def handle(request: Request) -> Response:
                try:
                    if reads_whole_body:
                        await read_capped_body(request, request.app.state.services.settings.max_json_body_bytes)
                    return await handler(request)
                except handled as exc:
                    return render(exc)
                except HTTPException as exc:
                    if exc.status_code != 400:
                        raise
                    # FastAPI's "There was an error parsing the body" (e.g. bytes that are not UTF-8):
                    # invalid input like any other, so it comes out in the surface's own error shape.
                    problem = {"loc": ("body",), "msg": str(exc.detail), "type": "body_unreadable"}
                    return render(RequestValidationError([problem]))
                except (OSError, DBAPIError) as exc:
                    if is_storage_full(exc):
                        return render(StorageFull())
                    raise

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

"""What every surface needs from the running app: the core services, and per-surface error rendering."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from omnidrop.auth.bearer import bearer_token
from omnidrop.auth.errors import AuthError
from omnidrop.auth.keys import KeyService, Principal
from omnidrop.uploads.core import UploadCore
from omnidrop.uploads.errors import UploadError


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
                except HTTPException as exc:
                    if exc.status_code != 400:
                        raise
                    # FastAPI's "There was an error parsing the body" (e.g. bytes that are not UTF-8):
                    # invalid input like any other, so it comes out in the surface's own error shape.
                    problem = {"loc": ("body",), "msg": str(exc.detail), "type": "body_unreadable"}
                    return render(RequestValidationError([problem]))

            return handle

    return SurfaceRoute


def validation_message(exc: RequestValidationError) -> str:
    """FastAPI's validation errors as one readable line: `body.side: Input should be …; …`."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())

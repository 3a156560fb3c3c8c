"""CORS for every route, from one place: `OMNIDROP_CORS_ALLOW_ORIGINS`.

A pure ASGI middleware (no body buffering, so streamed uploads stay streamed). For a request whose
`Origin` is allowed it
- answers a preflight (`OPTIONS` with `Access-Control-Request-Method`) itself, 200, with the methods,
  the headers asked for (plus the protocol headers omnidrop reads) and a max age; a preflight from an
  origin that is not allowed gets 403 and no CORS headers;
- adds `Access-Control-Allow-Origin` and `Access-Control-Expose-Headers` to every other response, so a
  page on another origin can read tus's `Upload-Offset`, the `ETag` of a part PUT, `Location`, ….
Requests without `Origin` pass through untouched.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOWED_HEADERS = (
    "Authorization", "Content-Type", "Content-Disposition", "Content-Range", "Tus-Resumable", "Upload-Offset",
    "Upload-Length", "Upload-Metadata", "Upload-Defer-Length", "Upload-Concat", "Upload-Checksum",
    "Upload-Complete", "Upload-Draft-Interop-Version", "X-HTTP-Method-Override", "X-Requested-With", "X-API-Key",
    "X-SPATIALGEN-APPKEY",
)
EXPOSED = (
    "ETag", "Location", "Content-Range", "Upload-Offset", "Upload-Length", "Upload-Metadata", "Upload-Defer-Length",
    "Upload-Concat", "Upload-Expires", "Upload-Complete", "Upload-Limit", "Upload-Draft-Interop-Version",
    "Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Checksum-Algorithm",
)
MAX_AGE = "86400"


class Cors:
    def __init__(self, app: ASGIApp, allow_origins: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(allow_origins)
        self.any = "*" in self.origins

    def allowed(self, origin: str) -> bool:
        return self.any or origin in self.origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if not origin:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self.preflight(origin, headers, send)
            return
        if not self.allowed(origin):
            await self.app(scope, receive, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Access-Control-Allow-Origin"] = "*" if self.any else origin
                out["Access-Control-Expose-Headers"] = ", ".join(EXPOSED)
                if not self.any:
                    out.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, with_cors)

    async def preflight(self, origin: str, headers: Headers, send: Send) -> None:
        if not self.allowed(origin):
            out = [(b"content-type", b"text/plain"), (b"vary", b"Origin")]
            await send({"type": "http.response.start", "status": 403, "headers": out})
            await send({"type": "http.response.body", "body": b"origin not allowed\n"})
            return
        asked = [h.strip() for h in headers.get("access-control-request-headers", "").split(",") if h.strip()]
        known = {h.lower() for h in ALLOWED_HEADERS}
        allow = [*ALLOWED_HEADERS, *(h for h in asked if h.lower() not in known)]
        out = {
            "Access-Control-Allow-Origin": "*" if self.any else origin,
            "Access-Control-Allow-Methods": METHODS,
            "Access-Control-Allow-Headers": ", ".join(allow),
            "Access-Control-Max-Age": MAX_AGE,
            "Content-Length": "0",
        }
        if not self.any:
            out["Vary"] = "Origin"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in out.items()]})
        await send({"type": "http.response.body", "body": b""})

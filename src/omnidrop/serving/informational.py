"""The `http.response.informational` ASGI extension: 1xx interim responses from the app.

ASGI has no message for an arbitrary 1xx. Its one standard extension near this,
`http.response.early_hint`, carries only `Link` values for a 103; the IETF resumable-upload draft
needs a 104 with `Location`. So this extension follows the shape of `http.response.start`
(like PSGI's `psgix.informational`): a server that can send interim responses puts
`"http.response.informational": {}` in `scope["extensions"]` and accepts, any number of times
before `http.response.start`,

    {"type": "http.response.informational", "status": 104, "headers": [(b"location", b"...")]}

omnidrop's uvicorn protocols (`serving/uvicorn_http.py`) implement it for HTTP/1.1 clients only
(RFC 9110 forbids 1xx to HTTP/1.0). Other servers (granian) and Starlette's TestClient do not offer
it, and callers fall back to carrying the same fields on the final response.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request

INFORMATIONAL = "http.response.informational"


def supports_informational(scope: Mapping) -> bool:
    return INFORMATIONAL in (scope.get("extensions") or {})


async def send_informational(request: Request, status: int, headers: Mapping[str, str]) -> bool:
    """Send a 1xx now, before the final response; False when the server cannot (nothing is sent)."""
    if not 102 <= status <= 199:
        raise ValueError(f"an informational status is 102..199, not {status}")
    if not supports_informational(request.scope):
        return False
    # Starlette keeps the ASGI send of a Request private but uses it the same way for the
    # `http.response.push` extension (Request.send_push_promise).
    await request._send({
        "type": INFORMATIONAL,
        "status": status,
        "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()],
    })
    return True

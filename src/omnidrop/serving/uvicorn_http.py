"""uvicorn's HTTP/1.1 protocols plus the `http.response.informational` extension (serving/informational.py),
and, for httptools, request bodies handed to the app without uvicorn's two extra copies.

uvicorn writes only its own `100 Continue`; an app cannot send any other 1xx. uvicorn loads its
protocol class from an import string (`--http module:Class`, `Config(http=...)`), so these
subclasses add the extension without patching uvicorn: each connection's app is wrapped so that the
scope advertises the extension and the app's informational messages are written to the connection
before the final response. They lean on uvicorn internals (the request cycle's transport, state and
h11 connection), which is why uvicorn is pinned exactly in constraints.txt.
"""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any

import h11
from uvicorn.protocols.http import h11_impl, httptools_impl

from omnidrop.serving.informational import INFORMATIONAL

# Reason phrases Python's http.HTTPStatus does not know yet.
REASONS = {104: b"Upload Resumption Supported"}

Headers = list[tuple[bytes, bytes]]
Writer = Callable[[Any, int, Headers], None]


def reason(status: int) -> bytes:
    if status in REASONS:
        return REASONS[status]
    try:
        return http.HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


class InformationalResponses:
    """Wraps one connection's ASGI app: offers the extension on HTTP/1.1 requests and writes the
    app's informational messages with `write(cycle, status, headers)`."""

    def __init__(self, app: Any, cycle_type: type, write: Writer) -> None:
        self.app, self.cycle_type, self.write = app, cycle_type, write

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        # The send uvicorn hands the app is its request cycle's bound method: the cycle of exactly
        # this request, even when requests are pipelined.
        cycle = getattr(send, "__self__", None)
        if scope["type"] != "http" or scope.get("http_version") != "1.1" or not isinstance(cycle, self.cycle_type):
            await self.app(scope, receive, send)
            return
        scope["extensions"] = {**(scope.get("extensions") or {}), INFORMATIONAL: {}}

        async def send_with_informational(message: dict) -> None:
            if message["type"] != INFORMATIONAL:
                await send(message)
                return
            if cycle.response_started:
                raise RuntimeError(f"'{INFORMATIONAL}' must come before 'http.response.start'")
            status = message["status"]
            # 100 is uvicorn's answer to Expect: 100-continue, 101 switches protocols: neither is the app's.
            if not isinstance(status, int) or not 102 <= status <= 199:
                raise RuntimeError(f"'{INFORMATIONAL}' needs a status in 102..199, got {status!r}")
            if cycle.flow.write_paused and not cycle.disconnected:
                await cycle.flow.drain()
            if cycle.disconnected or cycle.transport.is_closing():
                return
            self.write(cycle, status, [(bytes(n).lower(), bytes(v)) for n, v in message.get("headers", [])])

        await self.app(scope, receive, send_with_informational)


def _write_raw(cycle: httptools_impl.RequestResponseCycle, status: int, headers: Headers) -> None:
    out = [b"HTTP/1.1 %d %s\r\n" % (status, reason(status))]
    for name, value in headers:
        # The same checks uvicorn applies to the final response's headers.
        if httptools_impl.HEADER_RE.search(name):
            raise RuntimeError("Invalid HTTP header name.")
        if httptools_impl.HEADER_VALUE_RE.search(value):
            raise RuntimeError("Invalid HTTP header value.")
        out += [name, b": ", value, b"\r\n"]
    out.append(b"\r\n")
    cycle.transport.write(b"".join(out))


def _write_h11(cycle: h11_impl.RequestResponseCycle, status: int, headers: Headers) -> None:
    # Through the connection's h11 state machine, which validates the headers and stays in SEND_RESPONSE.
    event = h11.InformationalResponse(status_code=status, headers=headers, reason=reason(status))
    cycle.transport.write(cycle.conn.send(event))


class BodyPieces:
    """Stands in for a request cycle's `body` bytearray, which uvicorn grows with `+=` per piece the
    parser hands over and turns into the app's message with `bytes()`: every body byte copied twice
    more, about a tenth of the server's CPU with 32 uploads at once (perf). The pieces are kept as
    they are; the usual message is one piece, passed on as is."""

    __slots__ = ("pieces", "size")

    def __init__(self) -> None:
        self.pieces: list[bytes] = []
        self.size = 0

    def __iadd__(self, piece: bytes) -> BodyPieces:
        self.pieces.append(piece)
        self.size += len(piece)
        return self

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        return self.pieces[0] if len(self.pieces) == 1 else b"".join(self.pieces)


class InformationalHttpToolsProtocol(httptools_impl.HttpToolsProtocol):
    """`--http omnidrop.serving.uvicorn_http:InformationalHttpToolsProtocol` (omnidrop serve's default)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = InformationalResponses(self.app, httptools_impl.RequestResponseCycle, _write_raw)

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if not isinstance(cycle.body, BodyPieces):  # a new cycle, or uvicorn's receive() has just reset it
            pieces = BodyPieces()
            if cycle.body:
                pieces += bytes(cycle.body)
            cycle.body = pieces
        super().on_body(body)


class InformationalH11Protocol(h11_impl.H11Protocol):
    """`--http omnidrop.serving.uvicorn_http:InformationalH11Protocol`, for where httptools is missing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = InformationalResponses(self.app, h11_impl.RequestResponseCycle, _write_h11)

"""uvicorn's HTTP/1.1 protocols plus the `http.response.informational` extension (serving/informational.py),
and, for httptools, request bodies handed to the app without uvicorn's two extra copies or, through the
`omnidrop.body_into_file` extension (serving/body_into_file.py), spliced from the socket into a file.

uvicorn writes only its own `100 Continue`; an app cannot send any other 1xx. uvicorn loads its
protocol class from an import string (`--http module:Class`, `Config(http=...)`), so these
subclasses add the extension without patching uvicorn: each connection's app is wrapped so that the
scope advertises the extension and the app's informational messages are written to the connection
before the final response. They lean on uvicorn internals (the request cycle's transport, state and
h11 connection), which is why uvicorn is pinned exactly in constraints.txt.

The httptools protocol also bounds what a client may hold without finishing its request (`ServerLimits`,
from omnidrop's settings): a request head larger than `max_header_bytes` gets 431, a head not complete
within `header_timeout_seconds` of its first byte (or of the connection's opening) gets 408, and a body
that stops arriving for `body_idle_timeout_seconds` ends the connection as if the client had gone,
through whichever path reads it (uvicorn's `receive()` or the splice), so what arrived before stays
stored and acknowledged, as for any dropped client. Neither httptools nor uvicorn bounds these itself.
"""

from __future__ import annotations

import http
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
import httptools
from uvicorn.protocols.http import h11_impl, httptools_impl

from omnidrop.serving import socket_to_file
from omnidrop.serving.body_into_file import BODY_INTO_FILE, OnWritten
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


@dataclass(frozen=True)
class ServerLimits:
    max_head_bytes: int = 64 * 1024
    head_timeout: float = 30.0
    body_idle_timeout: float = 60.0

    @classmethod
    def from_settings(cls) -> ServerLimits:
        from omnidrop.settings import get_settings

        s = get_settings()
        return cls(s.max_header_bytes, s.header_timeout_seconds, s.body_idle_timeout_seconds)


class ConnectionExtensions:
    """Wraps one connection's ASGI app: on HTTP/1.1 requests, offers the informational extension and
    writes the app's informational messages with `write(cycle, status, headers)`, and offers what
    `offer_body(cycle)` gives for the body extension."""

    def __init__(self, app: Any, cycle_type: type, write: Writer,
                 offer_body: Callable[[Any], dict | None] | None = None) -> None:
        self.app, self.cycle_type, self.write, self.offer_body = app, cycle_type, write, offer_body

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        # The send uvicorn hands the app is its request cycle's bound method: the cycle of exactly
        # this request, even when requests are pipelined.
        cycle = getattr(send, "__self__", None)
        if scope["type"] != "http" or scope.get("http_version") != "1.1" or not isinstance(cycle, self.cycle_type):
            await self.app(scope, receive, send)
            return
        scope["extensions"] = {**(scope.get("extensions") or {}), INFORMATIONAL: {}}
        body_offer = self.offer_body(cycle) if self.offer_body else None
        if body_offer is not None:
            scope["extensions"][BODY_INTO_FILE] = body_offer

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


def _content_length(headers: Headers) -> int | None:
    """The body's length when it is given by Content-Length alone (no Transfer-Encoding)."""
    length = None
    for name, value in headers:
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            length = int(value) if value.isdigit() else None
    return length


class HeadTooLarge(Exception):
    """Raised from the parser's callback; the parser error it becomes is answered with 431."""


class InformationalHttpToolsProtocol(httptools_impl.HttpToolsProtocol):
    """`--http omnidrop.serving.uvicorn_http:InformationalHttpToolsProtocol` (omnidrop serve's default)."""

    # None: read from omnidrop's settings on the first connection (a subclass may set its own).
    limits: ClassVar[ServerLimits | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = ConnectionExtensions(self.app, httptools_impl.RequestResponseCycle, _write_raw,
                                        self._offer_body if socket_to_file.available else None)
        # The message being parsed: its Content-Length and how many of its body bytes the parser has seen.
        self.body_length: int | None = None
        self.body_parsed = 0
        self.discard = 0  # body bytes the app left unread after taking the body, still to come
        if type(self).limits is None:
            type(self).limits = ServerLimits.from_settings()
        self.in_head = True  # between messages or inside a head: what arrives counts against the head's bounds
        self.head_bytes = 0
        self.head_timer: Any = None
        self.body_timer: Any = None
        self.body_at = 0.0  # loop time the body last moved (or its head ended)
        self.refusal: tuple[int, str] | None = None

    # -- bounds on heads and idle bodies ---------------------------------------------------------

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()  # a connection that never sends a byte is a head that never ends

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def _cancel_timers(self) -> None:
        for timer in (self.head_timer, self.body_timer):
            if timer is not None:
                timer.cancel()
        self.head_timer = self.body_timer = None

    def _start_head_timer(self) -> None:
        self.head_timer = self.loop.call_later(self.limits.head_timeout, self._head_timed_out)

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if not self.in_head or self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._start_head_timer()  # a pipelined head waits on our response, not the client on its bytes
            return
        self._refuse(408, "Request head not received in time.")

    def _refuse(self, status: int, message: str) -> None:
        """A final answer the parser never got to, then the connection's end (uvicorn's 400, another status)."""
        self._cancel_timers()
        if self.cycle is None or self.cycle.response_complete:
            body = message.encode("ascii")
            self.transport.write(b"".join([
                httptools_impl.STATUS_LINE[status], b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body), body]))
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        if self.refusal is not None:
            self._refuse(*self.refusal)
            return
        super().send_400_response(msg)

    def _start_body_timer(self) -> None:
        self.body_at = self.loop.time()
        self.body_timer = self.loop.call_later(self.limits.body_idle_timeout, self._body_idle)

    def _body_idle(self) -> None:
        self.body_timer = None
        if (self.in_head and not self.discard) or self.transport.is_closing():
            return
        now = self.loop.time()
        if self.flow.read_paused:  # we are not reading (a slow app, the splice, a pipelined request)
            self.body_at = now
        idle = now - self.body_at
        if idle < self.limits.body_idle_timeout:
            self.body_timer = self.loop.call_later(self.limits.body_idle_timeout - idle, self._body_idle)
            return
        # As if the client had gone: uvicorn marks the request disconnected, and the app keeps what it stored.
        self.transport.close()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._message_done()

    def _message_done(self) -> None:
        self._cancel_timers()  # the next head's timer starts with its first byte
        self.in_head, self.head_bytes = True, 0

    def on_headers_complete(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        self.in_head = False
        if len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers) > self.limits.max_head_bytes:
            self.refusal = (431, "Request header fields too large.")
            raise HeadTooLarge()
        super().on_headers_complete()
        self.body_length = _content_length(self.headers)
        self.body_parsed = 0
        self._start_body_timer()

    def _offer_body(self, cycle: httptools_impl.RequestResponseCycle) -> dict | None:
        # Whether this very body can be taken is known only when the app asks: the parser may be on a
        # pipelined request by the time this request's app starts.
        if self.scheme != "http":
            return None

        async def write_into(fd: int, offset: int, on_written: OnWritten, max_length: int | None) -> int | None:
            return await self._body_into_file(cycle, fd, offset, on_written, max_length)

        return {"write_into": write_into}

    async def _body_into_file(self, cycle: httptools_impl.RequestResponseCycle, fd: int, offset: int,
                              on_written: OnWritten, max_length: int | None) -> int | None:
        # Only the message the parser is inside of has bytes still on the socket; a pipelined
        # request behind it means this body was parsed to its end.
        if (cycle is not self.cycle or not cycle.more_body or cycle.disconnected or cycle.response_complete
                or self.body_length is None or self.transport.is_closing()):
            return None
        head = cycle.body
        on_socket = self.body_length - self.body_parsed
        if max_length is not None and len(head) + on_socket > max_length:
            return None
        mover = socket_to_file.SocketToFile.open(self.transport.get_extra_info("socket").fileno(), fd)
        if mover is None:
            return None
        cycle.body = BodyPieces()
        if self.body_timer is not None:  # the mover watches its own idleness
            self.body_timer.cancel()
            self.body_timer = None
        if cycle.waiting_for_100_continue:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            cycle.waiting_for_100_continue = False
        self.flow.pause_reading()
        try:
            written = 0
            if head:
                pieces = head.pieces if isinstance(head, BodyPieces) else [bytes(head)]
                written = socket_to_file.write_pieces(fd, pieces, offset)
                await on_written(written)
            return written + await mover.move(on_socket, offset + written, on_written, self.limits.body_idle_timeout)
        except (EOFError, ConnectionError):
            self.transport.close()  # the peer is gone: uvicorn then marks the cycle disconnected
            raise
        finally:
            mover.close()
            self._end_body(cycle, unread=on_socket - mover.taken)

    def _end_body(self, cycle: httptools_impl.RequestResponseCycle, unread: int) -> None:
        """The body went round the parser: a new one starts at the next request, the bytes still
        unread (when the app stopped early) are dropped as they come, as uvicorn drops a body the app
        did not read, and the cycle ends its body the way the old parser would have."""
        self.body_parsed = self.body_length
        self.discard = unread
        self.parser = httptools.HttpRequestParser(self)
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        cycle.more_body = False
        cycle.message_event.set()
        self._message_done()

    def data_received(self, data: bytes) -> None:
        if self.discard:
            self._unset_keepalive_if_required()  # a client still sending is not idle
            self.body_at = self.loop.time()  # nor may it stall there: dropped bytes are still body bytes
            if self.body_timer is None:
                self.body_timer = self.loop.call_later(self.limits.body_idle_timeout, self._body_idle)
            dropped = min(self.discard, len(data))
            self.discard -= dropped
            data = data[dropped:]
            if not data:
                return
        if self.in_head:
            if self.head_timer is None:
                self._start_head_timer()
            self.head_bytes += len(data)
        super().data_received(data)
        # A head still unfinished past the bound: refused before httptools gathers more of it.
        if self.in_head and self.head_bytes > self.limits.max_head_bytes and not self.transport.is_closing():
            self._refuse(431, "Request header fields too large.")

    def on_body(self, body: bytes) -> None:
        self.body_parsed += len(body)
        self.body_at = self.loop.time()
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
        self.app = ConnectionExtensions(self.app, h11_impl.RequestResponseCycle, _write_h11)

"""multipart/form-data streamed from the request body, one part at a time (never `request.form()`).

python-multipart's push parser is fed the body as it arrives; its callbacks queue events, and the
consumer pulls parts in order, reading a file part's bytes as an async stream. Memory stays at one
body chunk plus the small text fields, whatever the file size (DESIGN invariant 2).
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

from omnidrop.telemetry.context import body_taken

MAX_FIELD_BYTES = 64 * 1024  # a text field larger than this is not a form field we know


class FormError(ValueError):
    """The body is not a well-formed multipart/form-data stream."""


def boundary_of(content_type: str | None) -> bytes:
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise FormError("expected multipart/form-data with a boundary")
    return options[b"boundary"]


@dataclass
class Part:
    name: str
    filename: str | None  # set for file parts, possibly ""
    content_type: str | None
    _form: FormStream

    async def chunks(self) -> AsyncIterator[bytes]:
        """This part's bytes as they arrive; must be consumed before the next part is asked for."""
        while True:
            kind, value = await self._form._next_event()
            if kind == "data":
                yield value
            elif kind == "end":
                self._form._part_done = True
                return

    async def text(self) -> str:
        data = bytearray()
        async for chunk in self.chunks():
            data += chunk
            if len(data) > MAX_FIELD_BYTES:
                raise FormError(f"form field {self.name!r} is too large")
        return data.decode("utf-8", errors="replace")


class FormStream:
    def __init__(self, body: AsyncIterator[bytes], content_type: str | None) -> None:
        body_taken("multipart")
        self._body = body.__aiter__()
        self._events: deque[tuple[str, object]] = deque()
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._eof = False
        self._part_done = True
        self._ended = False  # the closing boundary was seen
        self._parser = MultipartParser(boundary_of(content_type), callbacks={
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._add("_field", d[s:e]),
            "on_header_value": lambda d, s, e: self._add("_value", d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": lambda d, s, e: self._events.append(("data", bytes(d[s:e]))),
            "on_part_end": lambda: self._events.append(("end", None)),
            "on_end": lambda: setattr(self, "_ended", True),
        })

    # -- parser callbacks (synchronous, inside parser.write) ---------------------------------
    def _add(self, attr: str, data: bytes) -> None:
        setattr(self, attr, getattr(self, attr) + data)

    def _begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", errors="replace")
        filename = options.get(b"filename")
        content_type = self._headers.get(b"content-type")
        self._events.append(("part", Part(
            name, filename.decode("utf-8", errors="replace") if filename is not None else None,
            content_type.decode("latin-1") if content_type else None, self,
        )))

    # -- pulling ------------------------------------------------------------------------------
    async def _next_event(self) -> tuple[str, object]:
        while not self._events:
            if self._eof:
                raise FormError("the body ended inside a part")
            try:
                chunk = await self._body.__anext__()
            except StopAsyncIteration:
                self._eof = True
                self._parser.finalize()
                continue
            try:
                self._parser.write(chunk)
            except Exception as exc:  # python-multipart raises its own MultipartParseError
                raise FormError(f"malformed multipart body: {exc}") from exc
        return self._events.popleft()

    async def parts(self) -> AsyncIterator[Part]:
        """Every part in order; a part the caller did not read is skipped (its bytes discarded)."""
        while True:
            if not self._part_done:
                async for _ in self._skip_current():
                    pass
            try:
                kind, value = await self._next_event()
            except FormError:
                if self._eof and self._ended:
                    return  # a clean end after the closing boundary
                raise
            if kind == "part":
                self._part_done = False
                yield value  # type: ignore[misc]

    async def _skip_current(self) -> AsyncIterator[None]:
        while True:
            kind, _ = await self._next_event()
            if kind == "end":
                self._part_done = True
                return
            yield None

    async def drain(self) -> None:
        """Read and drop the rest of the body, so the client gets our answer instead of a reset."""
        async for _ in self._body:
            pass
        self._eof = True

"""A request body as a plain async byte stream for the core, which a file store may instead have the
server write straight into its file (the `omnidrop.body_into_file` extension, serving/body_into_file.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request

from omnidrop.serving.body_into_file import OnWritten, body_into_file
from omnidrop.telemetry.context import body_taken
from omnidrop.uploads.errors import BodyInterrupted


class RequestBody:
    """Iterates the body as the server hands it over; a dropped client becomes BodyInterrupted."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.started = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        self.started = True
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.request.stream():
                if chunk:
                    yield chunk
        except ClientDisconnect:
            raise BodyInterrupted() from None

    async def write_into(self, fd: int, offset: int, on_written: OnWritten,
                         max_length: int | None = None) -> int | None:
        """The whole body written into the open file `fd` from `offset` by the server, if it can
        (None: nothing was taken, iterate instead). `on_written(n)` follows every `n` bytes stored."""
        write_into = body_into_file(self.request.scope)
        if write_into is None or self.started:
            return None
        self.started = True
        try:
            written = await write_into(fd, offset, on_written, max_length)
        except (EOFError, ConnectionError):
            raise BodyInterrupted() from None
        if written is None:  # nothing taken: the body can still be iterated
            self.started = False
        return written


def request_body(request: Request, protocol: str = "raw") -> RequestBody:
    """`protocol` names the request's upload in the metrics (omnidrop_uploads_in_flight and the bytes)."""
    body_taken(protocol)
    return RequestBody(request)

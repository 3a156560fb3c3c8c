"""A request body as a plain async byte stream for the core."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request

from omnidrop.uploads.errors import BodyInterrupted


async def request_body(request: Request) -> AsyncIterator[bytes]:
    """Yields the body as the server hands it over; a dropped client becomes BodyInterrupted."""
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise BodyInterrupted() from None

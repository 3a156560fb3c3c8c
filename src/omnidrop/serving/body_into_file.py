"""The `omnidrop.body_into_file` ASGI extension: the server writes a request's body straight into a
file the app opened, instead of handing it over piece by piece through `receive()`.

A server that can do so for a request puts

    "omnidrop.body_into_file": {"write_into": write_into}

in `scope["extensions"]`, where

    await write_into(fd, offset, on_written, max_length) -> int | None

writes the rest of the body into the open file `fd` from `offset`, awaits `on_written(n)` after each
`n` bytes are in the file (it may raise to stop), and returns how many bytes it wrote. It answers None,
having taken nothing, when it cannot: more than `max_length` bytes are left, the body is not one with
a Content-Length, or it is already complete. A client that disconnects before the end raises EOFError
or a ConnectionError, after `on_written` has seen every byte that landed. When the app stops early
(`on_written` or the file raised), the server drops the rest of the body as it arrives, as it does for
a body the app never read, and the connection carries on.

omnidrop's httptools protocol (serving/uvicorn_http.py) offers it on plain-HTTP/1.1 connections on
Linux, where it moves the bytes with splice(2) (serving/socket_to_file.py). Other servers and
Starlette's TestClient do not, and the body is read through `receive()` as usual.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

BODY_INTO_FILE = "omnidrop.body_into_file"

OnWritten = Callable[[int], Awaitable[object]]


class WriteInto(Protocol):
    async def __call__(self, fd: int, offset: int, on_written: OnWritten, max_length: int | None) -> int | None: ...


def body_into_file(scope: Mapping) -> WriteInto | None:
    offer = (scope.get("extensions") or {}).get(BODY_INTO_FILE)
    return offer["write_into"] if offer else None

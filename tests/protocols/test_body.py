"""A request body for the core: iterated as Starlette hands it over, or written into a file by a
server that offers `omnidrop.body_into_file`."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from omnidrop.protocols.body import request_body
from omnidrop.serving.body_into_file import BODY_INTO_FILE
from omnidrop.uploads.errors import BodyInterrupted


def make_request(messages: list[dict], write_into=None) -> Request:
    scope = {"type": "http", "method": "PUT", "path": "/", "headers": [], "query_string": b""}
    if write_into is not None:
        scope["extensions"] = {BODY_INTO_FILE: {"write_into": write_into}}
    queue = list(messages)

    async def receive() -> dict:
        return queue.pop(0)

    return Request(scope, receive)


async def noop(n: int) -> None:
    pass


async def test_iterated_it_yields_the_pieces_and_a_dropped_client_is_an_interruption():
    body = request_body(make_request([{"type": "http.request", "body": b"ab", "more_body": True},
                                      {"type": "http.request", "body": b"", "more_body": True},
                                      {"type": "http.disconnect"}]))
    got = []
    with pytest.raises(BodyInterrupted):
        async for chunk in body:
            got.append(chunk)
    assert got == [b"ab"]


async def test_without_the_extension_it_does_not_write_itself():
    body = request_body(make_request([{"type": "http.request", "body": b"abc"}]))
    assert await body.write_into(3, 0, noop, 10) is None
    assert [c async for c in body] == [b"abc"]


async def test_the_server_writes_it_once_with_what_the_caller_asked():
    calls = []

    async def write_into(fd, offset, on_written, max_length):
        calls.append((fd, offset, on_written, max_length))
        return 42

    body = request_body(make_request([], write_into))
    assert await body.write_into(7, 100, noop, 500) == 42
    assert calls == [(7, 100, noop, 500)]
    assert await body.write_into(7, 142, noop, 500) is None  # its bytes are gone


async def test_a_server_that_declines_leaves_it_to_be_iterated():
    async def declines(fd, offset, on_written, max_length):
        return None

    body = request_body(make_request([{"type": "http.request", "body": b"abc"}], declines))
    assert await body.write_into(7, 0, noop, 2) is None
    assert [c async for c in body] == [b"abc"]


@pytest.mark.parametrize("gone", [EOFError("closed"), ConnectionResetError()])
async def test_a_client_that_leaves_while_the_server_writes_is_an_interruption(gone):
    async def cut(fd, offset, on_written, max_length):
        await on_written(10)
        raise gone

    with pytest.raises(BodyInterrupted):
        await request_body(make_request([], cut)).write_into(7, 0, noop)


async def test_once_iterated_it_no_longer_offers_to_write_itself():
    async def write_into(fd, offset, on_written, max_length):
        pytest.fail("taken after iterating")

    body = request_body(make_request([{"type": "http.request", "body": b"abc"}], write_into))
    assert [c async for c in body] == [b"abc"]
    assert await body.write_into(7, 0, noop) is None

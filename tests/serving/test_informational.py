"""The app side of the `http.response.informational` extension: send only where the server offers it."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request

from omnidrop.serving.informational import INFORMATIONAL, send_informational


def request(extensions: dict | None, sent: list) -> Request:
    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    if extensions is not None:
        scope["extensions"] = extensions
    return Request(scope, send=send)


def test_sends_the_message_when_the_server_offers_the_extension():
    sent = []
    ok = asyncio.run(send_informational(request({INFORMATIONAL: {}}, sent), 104, {"Location": "/files/a"}))
    assert ok is True
    assert sent == [{"type": INFORMATIONAL, "status": 104, "headers": [(b"location", b"/files/a")]}]


@pytest.mark.parametrize("extensions", [None, {}, {"http.response.debug": {}}])  # granian, TestClient, ...
def test_sends_nothing_where_the_server_cannot(extensions):
    sent = []
    assert asyncio.run(send_informational(request(extensions, sent), 104, {"Location": "/files/a"})) is False
    assert sent == []


@pytest.mark.parametrize("status", [100, 101, 200])
def test_only_informational_statuses_the_app_may_send(status):
    with pytest.raises(ValueError):
        asyncio.run(send_informational(request({INFORMATIONAL: {}}, []), status, {}))

"""Slow and oversized clients against a live `omnidrop serve` (uvicorn with omnidrop's protocol): a body
that stops arriving ends its request with the acknowledged prefix stored and resumable, and heads are
bounded in size and time, with small configured bounds."""

from __future__ import annotations

import os
import time

import httpx
import pytest

from tests.support.raw_http import RawConnection


@pytest.fixture(scope="module")
def live(servers, db_url):
    return servers.start(database_url=db_url, body_idle_timeout_seconds=1, header_timeout_seconds=1,
                         max_header_bytes=8192)


def _closed(conn: RawConnection) -> bool:
    try:
        return conn.sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def test_a_tus_patch_that_stops_sending_keeps_its_prefix_and_resumes(live):
    tus = {**live.headers(), "Tus-Resumable": "1.0.0"}
    data = os.urandom(2 * 1024 * 1024)
    r = httpx.post(f"{live.url}/files/", headers={**tus, "Upload-Length": str(len(data)), "Content-Length": "0"})
    assert r.status_code == 201
    url = r.headers["location"]
    with RawConnection(live.port) as conn:
        conn.send_head("PATCH", httpx.URL(url).path, {**tus, "Upload-Offset": "0", "Content-Length": str(len(data)),
                                                      "Content-Type": "application/offset+octet-stream"})
        conn.send(data[:300_000])
        assert _closed(conn)  # the server gave up on the quiet client (the socket's own timeout is 30 s)
    deadline = time.monotonic() + 20
    while True:  # the request ends just after the connection: its bytes are acknowledged as it finishes
        offset = int(httpx.head(url, headers=tus).headers["upload-offset"])
        if offset == 300_000 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert offset == 300_000
    r = httpx.patch(url, content=data[offset:], headers={**tus, "Upload-Offset": str(offset),
                                                         "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204 and r.headers["upload-offset"] == str(len(data))


def test_heads_are_bounded_in_size_and_time(live):
    with RawConnection(live.port) as conn:
        conn.send_head("GET", "/healthz", {"X-Filler": "a" * 9000})
        assert conn.read_head().status == 431
    with RawConnection(live.port) as conn:
        conn.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        assert conn.read_head().status == 408
    with RawConnection(live.port) as conn:
        conn.send_head("GET", "/healthz", {"X-Filler": "a" * 7000})
        assert conn.read_head().status == 200

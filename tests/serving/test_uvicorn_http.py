"""omnidrop's uvicorn protocols: the `http.response.informational` extension on the wire, for both
the httptools and the h11 protocol, request bodies arriving whole, and bodies written into the app's
file (`omnidrop.body_into_file`, httptools only), against an in-process uvicorn server."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from omnidrop.serving import socket_to_file
from omnidrop.serving.body_into_file import body_into_file
from omnidrop.serving.informational import INFORMATIONAL
from omnidrop.serving.uvicorn_http import (
    BodyPieces,
    InformationalH11Protocol,
    InformationalHttpToolsProtocol,
    ServerLimits,
)
from tests.support.raw_http import RawConnection
from tests.support.server import free_port


async def app(scope, receive, send):
    """/offered tells whether the extension is in the scope; /interim?X sends a 104 with Location X;
    /late, /status-N and /bad-header try what the extension refuses and answer with the error;
    /digest answers with the sha256 of the request body (/digest?slow reads it slowly, so pieces pile up);
    /nap?S sleeps S seconds before it does the same; /count counts the body's bytes, and records how many
    came in RECEIVED when the client goes away first."""
    assert scope["type"] == "http"
    path, query = scope["path"], scope["query_string"].decode()
    answer = b""
    try:
        if path == "/into-file":
            answer = await into_file(scope, query)
            if answer is None:
                return  # the client is gone
        if path == "/count":
            total = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    RECEIVED.append(total)
                    return
                total += len(message["body"])
                if not message.get("more_body", False):
                    break
            answer = b"%d" % total
        if path == "/nap":
            await asyncio.sleep(float(query))
        if path in ("/digest", "/nap") or answer.startswith(b"iterated"):
            digest, more = hashlib.sha256(), True
            while more:
                if query == "slow" and path == "/digest":
                    await asyncio.sleep(0.005)
                message = await receive()
                assert message["type"] == "http.request" and isinstance(message["body"], bytes)
                digest.update(message["body"])
                more = message.get("more_body", False)
            answer = answer + digest.hexdigest().encode()
        elif path == "/offered":
            answer = b"yes" if INFORMATIONAL in scope.get("extensions", {}) else b"no"
        elif path == "/interim":
            await send({"type": INFORMATIONAL, "status": 104, "headers": [(b"Location", query.encode())]})
        elif path.startswith("/status-"):
            await send({"type": INFORMATIONAL, "status": int(path.removeprefix("/status-")), "headers": []})
        elif path == "/bad-header":
            await send({"type": INFORMATIONAL, "status": 104, "headers": [(b"location", b"a\r\nx-injected: 1")]})
    except Exception as exc:  # noqa: BLE001 - the test reads which error the server raised
        answer = f"refused: {exc}".encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"%d" % len(answer)) if path != "/late" else (b"x", b"y")]})
    if path == "/late":
        try:
            await send({"type": INFORMATIONAL, "status": 104, "headers": []})
        except RuntimeError as exc:
            answer = f"refused: {exc}".encode()
        await send({"type": "http.response.body", "body": answer})
        return
    await send({"type": "http.response.body", "body": answer})


CUT: list[int] = []  # what /into-file had stored when its client went away
RECEIVED: list[int] = []  # what /count had received when its client went away


async def into_file(scope, query: str) -> bytes | None:
    """/into-file has the server write the body into a file and answers `<returned> <reported> <sha256>`;
    ?max=N offers at most N bytes; ?fail stops after the first bytes land. Where the server does not
    take the body, the answer is `iterated ` and the digest of the body read as usual."""
    write_into = body_into_file(scope)
    if write_into is None:
        return b"iterated "
    fd, name = tempfile.mkstemp()
    reported: list[int] = []

    async def on_written(n: int) -> None:
        reported.append(n)
        if query == "fail":
            raise RuntimeError("stop here")

    try:
        written = await write_into(fd, 0, on_written, int(query[4:]) if query.startswith("max=") else None)
        if written is None:
            return b"iterated "
        with open(name, "rb") as f:
            return b"%d %d %s" % (written, sum(reported), hashlib.file_digest(f, "sha256").hexdigest().encode())
    except (EOFError, ConnectionError):
        CUT.append(sum(reported))
        return None
    finally:
        os.close(fd)
        os.unlink(name)


@contextlib.contextmanager
def serving(protocol: type) -> Iterator[int]:
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), http=protocol, lifespan="off",
                            log_level="critical", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)  # uvicorn skips signal handlers off the main thread
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield config.port
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module", params=[InformationalHttpToolsProtocol, InformationalH11Protocol],
                ids=["httptools", "h11"])
def port(request) -> Iterator[int]:
    with serving(request.param) as port:
        yield port


@pytest.fixture(scope="module")
def httptools_port() -> Iterator[int]:
    """Only the httptools protocol writes bodies into files."""
    with serving(InformationalHttpToolsProtocol) as port:
        yield port


def get(conn: RawConnection, target: str, version: str = "HTTP/1.1") -> None:
    conn.send_head("GET", target, {}, version=version)


def test_http11_is_offered_the_extension_and_http10_is_not(port):
    with RawConnection(port) as conn:
        get(conn, "/offered")
        assert conn.read_body(conn.read_head()) == b"yes"
    with RawConnection(port) as conn:
        get(conn, "/offered", version="HTTP/1.0")  # RFC 9110: no 1xx to an HTTP/1.0 client
        assert conn.read_body(conn.read_head()) == b"no"


def test_the_interim_response_is_written_before_the_final_one(port):
    with RawConnection(port) as conn:
        get(conn, "/interim?/files/abc")
        interim = conn.read_head()
        assert (interim.version, interim.status, interim.reason) == ("HTTP/1.1", 104, "Upload Resumption Supported")
        assert interim.headers == {"location": "/files/abc"}  # names lower-cased, nothing else added
        final = conn.read_head()
        assert final.status == 200 and conn.read_body(final) == b""


def test_pipelined_requests_each_get_their_own_interim_response(port):
    with RawConnection(port) as conn:
        conn.send(b"GET /interim?first HTTP/1.1\r\nHost: x\r\n\r\nGET /interim?second HTTP/1.1\r\nHost: x\r\n\r\n")
        for location in ("first", "second"):
            assert conn.read_head().headers["location"] == location
            final = conn.read_head()
            assert final.status == 200
            conn.read_body(final)


@pytest.mark.parametrize(("target", "error"), [
    ("/late", "must come before 'http.response.start'"),
    ("/status-100", "needs a status in 102..199"),
    ("/status-101", "needs a status in 102..199"),
    ("/status-200", "needs a status in 102..199"),
    ("/bad-header", ""),  # uvicorn's or h11's own header check; the wording differs
])
def test_what_the_extension_refuses_is_an_error_and_nothing_is_written(port, target, error):
    with RawConnection(port) as conn:
        get(conn, target)
        head = conn.read_head()
        assert head.status == 200  # no interim response went out
        body = conn.read_body(head) if target != "/late" else _chunked(conn)
        assert body.startswith(b"refused: ") and error.encode() in body


def _chunked(conn: RawConnection) -> bytes:
    while not conn.buffer.endswith(b"0\r\n\r\n"):
        conn.buffer += conn.sock.recv(65536)
    size, _, rest = conn.buffer.partition(b"\r\n")
    return rest[:int(size, 16)]


def post(body: bytes) -> bytes:
    return b"POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


@pytest.mark.parametrize("target", ["/digest", "/digest?slow"])
def test_a_large_body_sent_in_pieces_reaches_the_app_whole(port, target):
    body = os.urandom(8 * 1024 * 1024 + 13)
    with RawConnection(port) as conn:
        conn.send_head("POST", target, {"Content-Length": str(len(body))})
        for i in range(0, len(body), 300_000):  # pieces that straddle the server's read sizes
            conn.send(body[i:i + 300_000])
        assert conn.read_body(conn.read_head()) == hashlib.sha256(body).hexdigest().encode()


def test_pipelined_requests_with_bodies_each_get_their_own_body(port):
    bodies = [os.urandom(70_000), b"", os.urandom(5)]
    with RawConnection(port) as conn:
        conn.send(b"".join(post(b) for b in bodies))  # the later bodies arrive before their turn
        for b in bodies:
            assert conn.read_body(conn.read_head()) == hashlib.sha256(b).hexdigest().encode()


def test_body_pieces_hand_a_single_piece_on_uncopied():
    pieces, piece = BodyPieces(), os.urandom(100)
    pieces += piece
    assert len(pieces) == 100 and bytes(pieces) is piece
    pieces += b"tail"
    assert len(pieces) == 104 and bytes(pieces) == piece + b"tail"


def into_file_answer(body: bytes) -> bytes:
    return b"%d %d %s" % (len(body), len(body), hashlib.sha256(body).hexdigest().encode())


def iterated_answer(body: bytes) -> bytes:
    return b"iterated " + hashlib.sha256(body).hexdigest().encode()


def test_only_httptools_offers_to_write_bodies_into_files(port, request):
    body = os.urandom(1024 * 1024)
    with RawConnection(port) as conn:
        conn.send_head("POST", "/into-file", {"Content-Length": str(len(body))})
        time.sleep(0.05)  # the app asks before the body is on its way
        conn.send(body)
        offered = request.node.callspec.params["port"] is InformationalHttpToolsProtocol
        assert conn.read_body(conn.read_head()) == (into_file_answer(body) if offered else iterated_answer(body))


def test_a_body_that_came_whole_with_its_head_is_left_to_be_read_as_usual(httptools_port):
    body = os.urandom(1000)
    with RawConnection(httptools_port) as conn:
        conn.send(b"POST /into-file HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + body)
        assert conn.read_body(conn.read_head()) == iterated_answer(body)


def test_a_body_is_written_into_the_file_after_100_continue(httptools_port):
    body = os.urandom(5 * 1024 * 1024 + 99)
    with RawConnection(httptools_port) as conn:
        conn.send_head("POST", "/into-file", {"Content-Length": str(len(body)), "Expect": "100-continue"})
        assert conn.read_head().status == 100  # the server asks for the body before taking it
        for i in range(0, len(body), 700_000):
            conn.send(body[i:i + 700_000])
        assert conn.read_body(conn.read_head()) == into_file_answer(body)


def test_body_bytes_that_came_with_the_head_go_first(httptools_port):
    body = os.urandom(3 * 1024 * 1024)
    with RawConnection(httptools_port) as conn:
        conn.send(b"POST /into-file HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:100_000])
        time.sleep(0.05)  # the server has parsed them before the app takes the body
        conn.send(body[100_000:])
        assert conn.read_body(conn.read_head()) == into_file_answer(body)


def test_the_connection_carries_on_after_a_body_went_into_a_file(httptools_port):
    first, second = os.urandom(2 * 1024 * 1024), os.urandom(300_000)
    with RawConnection(httptools_port) as conn:
        conn.send(b"POST /into-file HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(first) + first
                  + b"GET /offered HTTP/1.1\r\nHost: x\r\n\r\n")  # pipelined behind the body
        assert conn.read_body(conn.read_head()) == into_file_answer(first)
        assert conn.read_body(conn.read_head()) == b"yes"
        conn.send_head("POST", "/into-file", {"Content-Length": str(len(second))})
        conn.send(second)
        assert conn.read_body(conn.read_head()) == into_file_answer(second)


def test_a_chunked_body_or_one_over_the_limit_is_left_to_be_read_as_usual(httptools_port):
    body = os.urandom(200_000)
    with RawConnection(httptools_port) as conn:
        conn.send_head("POST", "/into-file?max=199999", {"Content-Length": str(len(body))})
        conn.send(body)
        assert conn.read_body(conn.read_head()) == iterated_answer(body)
        conn.send_head("POST", "/into-file", {"Transfer-Encoding": "chunked"})
        conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        assert conn.read_body(conn.read_head()) == iterated_answer(body)


def test_without_a_pipe_deep_enough_the_body_is_left_to_be_read_as_usual(httptools_port, monkeypatch):
    monkeypatch.setattr(socket_to_file, "MIN_PIPE_BYTES", 2 * socket_to_file.PIPE_BYTES)
    body = os.urandom(1024 * 1024)
    with RawConnection(httptools_port) as conn:
        conn.send_head("POST", "/into-file", {"Content-Length": str(len(body))})
        time.sleep(0.05)
        conn.send(body)
        assert conn.read_body(conn.read_head()) == iterated_answer(body)


def test_a_client_that_leaves_mid_body_is_reported_with_what_was_stored(httptools_port):
    CUT.clear()
    with RawConnection(httptools_port) as conn:
        conn.send_head("POST", "/into-file", {"Content-Length": str(10 * 1024 * 1024)})
        conn.send(b"z" * 1024 * 1024)
        time.sleep(0.1)
    deadline = time.monotonic() + 10
    while not CUT:
        assert time.monotonic() < deadline, "the app never heard that the client left"
        time.sleep(0.01)
    assert CUT == [1024 * 1024]
    with RawConnection(httptools_port) as conn:  # and the server takes the next client
        get(conn, "/offered")
        assert conn.read_body(conn.read_head()) == b"yes"


def test_after_a_failed_write_the_rest_of_the_body_is_dropped_and_the_connection_carries_on(httptools_port):
    body = os.urandom(4 * 1024 * 1024)
    with RawConnection(httptools_port) as conn:
        conn.send_head("POST", "/into-file?fail", {"Content-Length": str(len(body))})
        conn.send(body)  # the app stops after its first bytes; the server reads the rest to nowhere
        assert conn.read_body(conn.read_head()) == b"refused: stop here"
        get(conn, "/offered")
        assert conn.read_body(conn.read_head()) == b"yes"


# -- bounds on heads and idle bodies (httptools) ------------------------------------------------------


class Limited(InformationalHttpToolsProtocol):
    """Small bounds, so that the tests wait fractions of a second, not the defaults' minutes."""

    limits = ServerLimits(max_head_bytes=4096, head_timeout=0.5, body_idle_timeout=1.0)


@pytest.fixture(scope="module")
def limited_port() -> Iterator[int]:
    with serving(Limited) as port:
        yield port


def _wait_for(found: list, what: str) -> None:
    deadline = time.monotonic() + 20
    while not found:
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def _closed(conn: RawConnection) -> bool:
    try:
        return conn.sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def test_the_defaults_come_from_settings():
    assert ServerLimits.from_settings() == ServerLimits(64 * 1024, 30.0, 60.0)


def test_a_head_over_the_bound_gets_431_whether_it_came_whole_or_is_still_coming(limited_port):
    with RawConnection(limited_port) as conn:
        conn.send_head("GET", "/offered", {"X-Filler": "a" * 5000})
        head = conn.read_head()
        assert head.status == 431 and head.headers["connection"] == "close"
    with RawConnection(limited_port) as conn:  # never finished: refused once past the bound
        conn.send(b"GET /offered HTTP/1.1\r\nX-Filler: ")
        with contextlib.suppress(ConnectionError):
            for _ in range(64):
                conn.send(b"a" * 1024)
        assert conn.read_head().status == 431
        conn.buffer = b""
        assert _closed(conn)
    with RawConnection(limited_port) as conn:  # just under the bound is fine
        conn.send_head("GET", "/offered", {"X-Filler": "a" * 3800})
        assert conn.read_body(conn.read_head()) == b"yes"


def test_a_head_that_does_not_end_in_time_gets_408(limited_port):
    with RawConnection(limited_port) as conn:
        conn.send(b"GET /offered HTTP/1.1\r\nHost: x\r\n")  # no blank line, ever
        head = conn.read_head()
        assert head.status == 408
        conn.read_body(head)
        assert _closed(conn)
    with RawConnection(limited_port) as conn:  # a connection that sends nothing at all
        assert conn.read_head().status == 408


def test_a_connection_between_requests_gets_the_head_bound_anew(limited_port):
    with RawConnection(limited_port) as conn:
        for _ in range(3):  # each head may be almost the bound; they do not add up
            conn.send_head("GET", "/offered", {"X-Filler": "a" * 3800})
            assert conn.read_body(conn.read_head()) == b"yes"


def test_a_body_that_stops_arriving_ends_the_request_with_what_came(limited_port):
    RECEIVED.clear()
    with RawConnection(limited_port) as conn:
        conn.send_head("POST", "/count", {"Content-Length": str(4 * 1024 * 1024)})
        conn.send(b"abc")
        _wait_for(RECEIVED, "the app never heard that the body stopped")
        assert _closed(conn)
    assert RECEIVED == [3]


def test_a_spliced_body_that_stops_arriving_keeps_what_was_stored(limited_port):
    CUT.clear()
    with RawConnection(limited_port) as conn:
        conn.send_head("POST", "/into-file", {"Content-Length": str(4 * 1024 * 1024)})
        time.sleep(0.05)  # the app takes the body before any of it comes
        conn.send(b"z" * 300_000)
        _wait_for(CUT, "the app never heard that the body stopped")
        assert _closed(conn)
    assert CUT == [300_000]


def test_a_body_that_keeps_coming_slowly_or_waits_on_the_app_is_not_cut(limited_port):
    body = os.urandom(40_000)
    with RawConnection(limited_port) as conn:  # 20 pieces a tenth of the idle bound apart: 2 s in all
        conn.send_head("POST", "/digest", {"Content-Length": str(len(body))})
        for i in range(0, len(body), 2000):
            conn.send(body[i:i + 2000])
            time.sleep(0.1)
        assert conn.read_body(conn.read_head()) == hashlib.sha256(body).hexdigest().encode()
    body = os.urandom(8 * 1024 * 1024)
    with RawConnection(limited_port) as conn:  # the app reads nothing for twice the idle bound
        conn.send(b"POST /nap?2 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
        conn.send(body)
        assert conn.read_body(conn.read_head()) == hashlib.sha256(body).hexdigest().encode()

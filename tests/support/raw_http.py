"""HTTP/1.1 over a bare socket, for tests that need what HTTP clients hide: interim (1xx) responses,
their order, and a request body sent in pieces with reads in between."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass


@dataclass
class Head:
    version: str
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names; these tests never repeat a header


class RawConnection:
    def __init__(self, port: int, timeout: float = 30) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()

    def send_head(self, method: str, target: str, headers: dict[str, str], version: str = "HTTP/1.1") -> None:
        lines = [f"{method} {target} {version}", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_head(self) -> Head:
        """The next response head: an interim one or the final one (whose body stays unread)."""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed before a full response head; got {self.buffer!r}")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = raw.decode("latin-1").split("\r\n")
        version, status, reason = (status_line.split(" ", 2) + [""])[:3]
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return Head(version, int(status), reason, headers)

    def read_body(self, head: Head) -> bytes:
        length = int(head.headers.get("content-length", "0"))
        while len(self.buffer) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed inside a response body")
            self.buffer += chunk
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return body

    def reset(self) -> None:
        """Drop the connection the way a lost network does: an RST, nothing more sent."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

"""A loopback TCP proxy that can cut a connection after a number of client bytes, like a dropped network."""

from __future__ import annotations

import socket
import threading


class CuttingProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.cut_after: int | None = None  # client->server bytes per connection before the cut
        self.cuts = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> CuttingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            limit = self.cut_after
            threading.Thread(target=self._pipe, args=(client, upstream, limit), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, None), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if limit is not None and sent + len(data) >= limit:
                    dst.sendall(data[: limit - sent])
                    self.cuts += 1
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


class HttpProxy(CuttingProxy):
    """A CuttingProxy that reads the HTTP/1.1 requests passing through (clients here never pipeline):

    - counts the body bytes it forwards per request path (`forwarded`), so a test can tell how many bytes
      reached the server more than once;
    - answers a request itself with a queued canned response (`inject(status, headers)`: a 429 with
      Retry-After, a 503…) after reading and dropping its body, as an overloaded front end would;
    - cuts the connection `cut_body_after` bytes into the body of the next request whose path contains
      `cut_path` (a network drop mid-chunk).
    """

    def __init__(self, target_port: int) -> None:
        super().__init__(target_port)
        self.lock = threading.Lock()
        self.forwarded: dict[str, int] = {}
        self.requests: list[tuple[str, str]] = []
        self.injected: list[tuple[str, str, int]] = []  # (method, path, status) answered by the proxy
        self._canned: list[tuple[str | None, int, dict[str, str]]] = []
        self.cut_path: str | None = None
        self.cut_body_after: int | None = None

    def inject(self, status: int, headers: dict[str, str] | None = None, *, path: str | None = None,
               body: bytes = b"") -> None:
        """Answer the next request (whose path contains `path`, if given) with `status` instead of the server."""
        with self.lock:
            self._canned.append((path, status, {**(headers or {}), "_body": body.decode()}))

    def cut_next(self, path: str, after: int) -> None:
        with self.lock:
            self.cut_path, self.cut_body_after = path, after

    def forwarded_matching(self, fragment: str) -> int:
        with self.lock:
            return sum(n for p, n in self.forwarded.items() if fragment in p)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:  # the server is down (a restart): the client sees a reset
                client.close()
                continue
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, None), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = client.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                length = int(headers.get("content-length", "0") or 0)
                with self.lock:
                    self.requests.append((method, path))
                    canned = next((c for c in self._canned if c[0] is None or c[0] in path), None)
                    if canned:
                        self._canned.remove(canned)
                        self.injected.append((method, path, canned[1]))
                    cut = None
                    if not canned and self.cut_path is not None and self.cut_path in path and length:
                        cut, self.cut_path, self.cut_body_after = self.cut_body_after, None, None
                if canned:
                    left = length - len(buf[:length])
                    buf = buf[length:]
                    while left > 0:
                        data = client.recv(min(65536, left))
                        if not data:
                            return
                        left -= len(data)
                    extra = {k: v for k, v in canned[2].items() if k != "_body"}
                    body = canned[2]["_body"].encode()
                    reason = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
                              503: "Service Unavailable"}.get(canned[1], "Error")
                    out = [f"HTTP/1.1 {canned[1]} {reason}", f"Content-Length: {len(body)}", "Connection: close"]
                    out += [f"{k}: {v}" for k, v in extra.items()]
                    client.sendall(("\r\n".join(out) + "\r\n\r\n").encode() + body)
                    return
                upstream.sendall(head + b"\r\n\r\n")
                left = length
                while left > 0:
                    if not buf:
                        buf = client.recv(min(262144, left))
                        if not buf:
                            return
                    piece, buf = buf[:left], buf[left:]
                    if cut is not None and len(piece) >= cut:
                        upstream.sendall(piece[:cut])
                        self._count(path, cut)
                        self.cuts += 1
                        return
                    upstream.sendall(piece)
                    self._count(path, len(piece))
                    left -= len(piece)
                    if cut is not None:
                        cut -= len(piece)
        except OSError:
            pass
        finally:
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def _count(self, path: str, n: int) -> None:
        with self.lock:
            self.forwarded[path] = self.forwarded.get(path, 0) + n

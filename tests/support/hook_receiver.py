"""A local HTTP endpoint that records upload-hook POSTs and answers as a test tells it to."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# (event dict) -> (status, body)
Answer = Callable[[dict], tuple[int, bytes]]


class HookReceiver:
    def __init__(self, answer: Answer | None = None) -> None:
        self.answer: Answer = answer or (lambda event: (200, b"{}"))
        self.events: list[dict] = []
        self.attempts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's naming
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                event = json.loads(body)
                receiver.attempts += 1
                status, reply = receiver.answer(event)
                if status < 300:
                    receiver.events.append(event)
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def types(self, upload_id: str) -> list[str]:
        return [e["type"] for e in self.events if e["upload_id"] == upload_id]

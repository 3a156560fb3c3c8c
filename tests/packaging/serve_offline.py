"""Run inside the fresh venv (and, where possible, a network namespace with only loopback): start
`omnidrop serve`, fetch the web app's index, one of its assets and /docs, print what came back as JSON."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

omnidrop, data_dir, netns = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
if netns:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
base = f"http://127.0.0.1:{port}"
server = subprocess.Popen([omnidrop, "serve", "--port", str(port), "--data-dir", data_dir], start_new_session=True)


def get(path: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return r.status, r.headers.get("content-type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read()


try:
    deadline = time.monotonic() + 60
    while True:
        try:
            get("/openapi.json")
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"omnidrop serve did not come up (exit {server.poll()})")
            time.sleep(0.2)
    status, ctype, body = get("/app/")
    asset = re.search(r'/app/assets/[\w.-]+\.js', body.decode())
    result = {"index": [status, ctype, body.decode()[:2000]], "asset": None,
              "module": importlib.util.find_spec("omnidrop").origin,
              "static": importlib.util.find_spec("omnidrop.web.static").origin}
    if asset:
        a_status, a_type, a_body = get(asset.group(0))
        result["asset"] = [asset.group(0), a_status, a_type, len(a_body)]
    d_status, d_type, d_body = get("/docs")
    result["docs"] = [d_status, d_type, len(d_body)]
    try:
        socket.create_connection(("pypi.org", 443), timeout=3).close()
        result["network"] = True
    except OSError:
        result["network"] = False
    print(json.dumps(result))
finally:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)

"""Client steps of the File Upload API used by several live tests."""

from __future__ import annotations

import time
from pathlib import Path

import httpx


def upload(api: str, headers: dict, files: dict[str, bytes | Path]) -> str:
    sid = httpx.post(f"{api}/uploads", headers=headers).json()["upload_id"]
    for name, data in files.items():
        content = data.read_bytes() if isinstance(data, Path) else data
        r = httpx.put(f"{api}/uploads/{sid}/{name}", content=content, headers=headers, timeout=120)
        assert r.status_code == 200 and r.json()["complete"], r.text
    return sid


def create(api: str, headers: dict, **body) -> httpx.Response:
    return httpx.post(f"{api}/projects", json=body, headers=headers)


def wait(api: str, headers: dict, name: str, timeout: float = 120) -> dict:
    """Poll as the spec says: until status 100 (a failed project ends there too, with state "failed")."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        body = httpx.get(f"{api}/projects/{name}", headers=headers).json()
        seen.append(body["status"])
        if body["status"] == 100:
            body["_seen"] = seen
            return body
        time.sleep(0.2)
    raise AssertionError(f"project {name} stuck at {seen[-5:]}")

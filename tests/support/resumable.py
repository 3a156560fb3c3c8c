"""Helpers for tests of the resumable-upload endpoints: a tus client on httpx, and database peeks."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

from omnidrop.db.engine import Database
from tests.support.server import LiveServer, read_blob

T = TypeVar("T")
TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_STREAM = {"Content-Type": "application/offset+octet-stream"}


def tus_client(server: LiveServer, owner: str = "default") -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={**TUS, **server.headers(owner=owner)}, timeout=60)


def metadata(**pairs: str | None) -> str:
    return ",".join(k if v is None else f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def create(client: httpx.Client, length: int | None, **headers: str) -> str:
    """POST a new upload; returns its path (/files/<id>)."""
    h = {"Upload-Length": str(length)} if length is not None else {"Upload-Defer-Length": "1"}
    r = client.post("/files/", headers={**h, **headers})
    assert r.status_code == 201, r.text
    return httpx.URL(r.headers["location"]).path


def patch(client: httpx.Client, path: str, offset: int, data: bytes, **headers: str) -> httpx.Response:
    return client.patch(path, content=data, headers={**OFFSET_STREAM, "Upload-Offset": str(offset), **headers})


def on_db(server: LiveServer, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` against the live server's database from this (test) process."""
    from omnidrop.settings import Settings

    url = Settings(data_dir=server.data_dir, database_url=server.env.get("OMNIDROP_DATABASE_URL")).resolved_database_url

    async def run() -> T:
        db = Database(url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def upload_file_row(server: LiveServer, upload_id: str):
    from sqlalchemy import select

    from omnidrop.db.models import UploadFile

    async def get(db: Database):
        async with db.read() as s:
            return (await s.execute(select(UploadFile).where(UploadFile.session_id == upload_id))).scalar_one_or_none()

    return on_db(server, get)


def uploaded_bytes(server: LiveServer, path: str) -> bytes:
    row = upload_file_row(server, path.rsplit("/", 1)[1])
    assert row is not None and row.complete, row
    return read_blob(server, row.blob_key)


class CutOnceProxy:
    """A CuttingProxy that drops only its first connection after `at` client bytes, like one network blip."""

    def __new__(cls, target_port: int, at: int):
        from tests.support.proxy import CuttingProxy

        class _CutOnce(CuttingProxy):
            @property
            def cut_after(self) -> int | None:
                return at if self.cuts == 0 else None

            @cut_after.setter
            def cut_after(self, value) -> None:  # the base class resets it; the cut point is fixed
                pass

        return _CutOnce(target_port)

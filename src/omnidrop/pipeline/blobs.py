"""Moving bytes between the blob store and local files, for tools that need a path (libarchive, PyAV)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from omnidrop.storage.base import BlobStore
from omnidrop.telemetry.metrics import storage_errors

BLOCK = 1024 * 1024


@contextlib.asynccontextmanager
async def local_copy(store: BlobStore, key: str, workdir: Path) -> AsyncIterator[Path]:
    """A path holding the blob: the store's own file when it has one, else a temporary download."""
    path = store.local_path(key)
    if path is not None and path.exists():
        yield path
        return
    tmp = Path(tempfile.mkdtemp(dir=workdir)) / "blob"
    try:
        with open(tmp, "wb") as f:
            async for block in store.read(key):
                f.write(block)
        yield tmp
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)


async def file_blocks(path: Path) -> AsyncIterator[bytes]:
    with open(path, "rb") as f:
        while block := await asyncio.to_thread(f.read, BLOCK):
            yield block


async def put_file(store: BlobStore, key: str, path: Path) -> int:
    with storage_errors("job_output"):
        return await store.put(key, file_blocks(path))


async def put_bytes(store: BlobStore, key: str, data: bytes) -> None:
    async def one() -> AsyncIterator[bytes]:
        yield data

    with storage_errors("job_output"):
        await store.put(key, one())

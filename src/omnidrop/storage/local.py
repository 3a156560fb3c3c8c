"""Blobs as plain files under one directory."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

from omnidrop.storage.base import BlobInfo, BlobStore, check_key
from omnidrop.storage.file_writer import write_stream
from omnidrop.storage.reserve import DiskReserve, is_full

READ_BLOCK = 1024 * 1024


class LocalBlobStore(BlobStore):
    def __init__(self, root: Path, *, fsync: bool = True, reserve: DiskReserve | None = None) -> None:
        self.root = root.resolve()
        self.fsync = fsync
        self.reserve = reserve  # see storage/reserve.py: no new bytes while it is released
        self.root.mkdir(parents=True, exist_ok=True)

    def _guarded(self) -> None:
        if self.reserve is not None:
            self.reserve.before_write()

    def _met_full_disk(self, exc: BaseException) -> None:
        if self.reserve is not None and is_full(exc):
            self.reserve.release()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    async def write(self, key: str, offset: int, chunks: AsyncIterable[bytes]) -> int:
        path = self._path(key)
        self._guarded()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o640)
            try:
                return await write_stream(fd, offset, chunks, durable=self.fsync)
            finally:
                os.close(fd)
        except OSError as exc:
            self._met_full_disk(exc)
            raise

    async def finalize(self, key: str, size: int) -> None:
        path = self._path(key)
        if not path.exists():  # a zero-byte file never had a write
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        if path.stat().st_size != size:
            # Leftovers past `size` can only come from writes that were never acknowledged.
            os.truncate(path, size)

    async def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self._path(key)
        with open(path, "rb") as f:
            f.seek(start)
            remaining = None if end is None else end - start
            while remaining is None or remaining > 0:
                n = READ_BLOCK if remaining is None else min(READ_BLOCK, remaining)
                block = await asyncio.to_thread(f.read, n)
                if not block:
                    return
                if remaining is not None:
                    remaining -= len(block)
                yield block

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix)
        await asyncio.to_thread(shutil.rmtree, path, True)

    async def list(self, prefix: str) -> AsyncIterator[BlobInfo]:
        base = self._path(prefix)
        if not base.is_dir():
            return
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            yield BlobInfo(key=path.relative_to(self.root).as_posix(), size=path.stat().st_size)

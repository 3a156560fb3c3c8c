"""Multipart uploads on local disk: parts as files, assembled into the blob on completion.

Parts live in `<root>/.multipart/<upload_id>/<number>.<md5 hex>` (outside the key space, which
cannot start with a dot), so the directory listing alone is the store's part list. A part is written to
a temporary file, flushed and renamed into place: a re-PUT replaces the old part atomically.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import shutil
from collections.abc import AsyncIterable
from pathlib import Path

from omnidrop.storage.base import check_key
from omnidrop.storage.file_writer import write_stream
from omnidrop.storage.multipart import MultipartError, MultipartStore, PartInfo, quote_etag
from omnidrop.storage.reserve import DiskReserve, is_full

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_PART = re.compile(r"^(\d{5})\.([0-9a-f]{32})$")


class LocalMultipart(MultipartStore):
    def __init__(self, root: Path, *, fsync: bool = True, reserve: DiskReserve | None = None) -> None:
        self.root = root.resolve()
        self.fsync = fsync
        self.reserve = reserve  # see storage/reserve.py

    def _dir(self, upload_id: str) -> Path:
        if not _UPLOAD_ID.match(upload_id):
            raise MultipartError(f"no such upload {upload_id!r}")
        return self.root / ".multipart" / upload_id

    def _existing(self, upload_id: str) -> Path:
        path = self._dir(upload_id)
        if not path.is_dir():
            raise MultipartError(f"no such upload {upload_id!r}")
        return path

    async def create_multipart(self, key: str) -> str:
        check_key(key)
        upload_id = secrets.token_hex(16)
        self._dir(upload_id).mkdir(parents=True)
        return upload_id

    def presign_part(self, key: str, upload_id: str, number: int, expires_in: int) -> str | None:
        return None  # omnidrop serves local part URLs itself

    async def write_part(self, key: str, upload_id: str, number: int, chunks: AsyncIterable[bytes]) -> PartInfo:
        folder = self._existing(upload_id)
        tmp = folder / f".{number:05d}.{secrets.token_hex(4)}.tmp"
        md5 = hashlib.md5()
        if self.reserve is not None:
            self.reserve.before_write()
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
            try:
                size = await write_stream(fd, 0, chunks, durable=self.fsync, each=md5.update)
            finally:
                os.close(fd)
            final = folder / f"{number:05d}.{md5.hexdigest()}"
            for old in folder.glob(f"{number:05d}.*"):
                if old != final:
                    old.unlink(missing_ok=True)
            os.replace(tmp, final)
        except OSError as exc:
            if self.reserve is not None and is_full(exc):
                self.reserve.release()
            raise
        finally:
            tmp.unlink(missing_ok=True)
        return PartInfo(number, size, quote_etag(md5.hexdigest()))

    async def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        folder = self._existing(upload_id)
        parts = []
        for path in sorted(folder.iterdir()):
            m = _PART.match(path.name)
            if m:
                parts.append(PartInfo(int(m.group(1)), path.stat().st_size, quote_etag(m.group(2))))
        return parts

    async def complete_multipart(self, key: str, upload_id: str, parts: list[PartInfo]) -> None:
        folder = self._existing(upload_id)
        target = self.root / check_key(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        sources = [folder / f"{p.number:05d}.{p.etag.strip(chr(34))}" for p in parts]
        await asyncio.to_thread(_concatenate, sources, tmp, self.fsync)
        os.replace(tmp, target)
        await asyncio.to_thread(shutil.rmtree, folder, True)

    async def completed_size(self, key: str) -> int | None:
        try:
            return (self.root / check_key(key)).stat().st_size
        except FileNotFoundError:
            return None

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self._dir(upload_id), True)


def _concatenate(sources: list[Path], target: Path, fsync: bool) -> None:
    """Kernel-side copies (copy_file_range): multi-GiB objects never pass through Python buffers."""
    try:
        with open(target, "wb") as out:
            for src in sources:
                with open(src, "rb") as f:
                    remaining = os.fstat(f.fileno()).st_size
                    while remaining > 0:
                        n = os.copy_file_range(f.fileno(), out.fileno(), remaining)
                        if n == 0:
                            raise MultipartError(f"part {src.name} shrank while being assembled")
                        remaining -= n
            if fsync:
                os.fdatasync(out.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise

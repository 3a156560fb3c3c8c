"""The blob-store interface: what the upload core and the pipeline may ask of bytes at rest.

Keys are relative, slash-separated paths (`uploads/<session>/<file>`). A store hides whether they live
on local disk or in S3-compatible object storage.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from omnidrop.storage.fence import WriteFence

_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\]")
MAX_KEY_BYTES = 1024  # S3's limit


class InvalidKey(ValueError):
    pass


def check_key(key: str) -> str:
    """Keys are made by omnidrop itself; still refuse anything that could walk out of the store."""
    # Any UTF-8 a file name may hold, as in S3, but never a component that could walk upwards.
    parts = key.split("/")
    if _FORBIDDEN.search(key) or len(key.encode()) > MAX_KEY_BYTES or any(p in ("", ".", "..") for p in parts):
        raise InvalidKey(key)
    return key


class BlobMismatch(Exception):
    """A finished blob is not what the database says it should be (its size or checksum)."""


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int


class BlobStore(ABC):
    @abstractmethod
    async def write(self, key: str, offset: int, chunks: AsyncIterable[bytes], *,
                    fence: WriteFence | None = None) -> int:
        """Write the stream at `offset` (creating the blob if needed), overwriting what is there.

        `fence` (upload writes under a lease, storage/fence.py): the store starts from `fence.state`,
        leaves its new record there, and arranges that this writer, should it wake after its lease was
        taken over, cannot change bytes anyone reads. Without one (a single writer: pipeline outputs)
        the store keeps its own record.

        Returns the number of bytes written; they are durable when this returns. If `chunks` raises,
        the exception propagates and nothing from this call counts as written.

        `chunks` may also offer `await chunks.write_into(fd, offset, on_written)`: it writes itself into
        the open file `fd` from `offset` (a server splicing the body from its socket), awaits
        `on_written(n)` after every `n` bytes that land, and returns how many, or None having taken
        nothing, to be iterated instead. A store that writes to files may use it; others iterate.
        """

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Make `key` a complete blob holding exactly the stream, replacing whatever was there.

        For derived outputs (frames, thumbnails, downloads): a job that re-runs after a crash writes
        the same keys again, so a put must never refuse an existing or half-written blob. Returns the size.
        """
        size = await self.write(key, 0, chunks)
        await self.finalize(key, size)  # truncates what a longer earlier version left past `size`
        return size

    @abstractmethod
    async def finalize(self, key: str, size: int, *, fence: WriteFence | None = None) -> None:
        """Called once the blob holds all `size` bytes: make it a complete, readable object, made of
        exactly what `fence.state` records when there is a fence. Raises (BlobMismatch) rather than
        return when the object it finds or makes is not `size` bytes long."""

    @abstractmethod
    async def size(self, key: str) -> int | None:
        """The stored size, or None if there is no such blob."""

    @abstractmethod
    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes [start, end) in bounded blocks."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove one blob; a missing blob is not an error."""

    @abstractmethod
    async def delete_prefix(self, prefix: str) -> None:
        """Remove every blob under `prefix/`."""

    @abstractmethod
    def list(self, prefix: str) -> AsyncIterator[BlobInfo]:
        """Every blob under `prefix/`, in key order."""

    async def compose(self, keys: list[str], dest_key: str) -> int:
        """Make `dest_key` the concatenation of the complete blobs `keys`, in order; returns its size.

        The generic way streams every source through `write`; a store that can join objects on its
        side (S3 UploadPartCopy, a filesystem's copy_file_range) may override it. The destination
        is durable when this returns; the sources are left as they are.
        """
        size = 0
        for key in keys:
            size += await self.write(dest_key, size, self.read(key))
        await self.finalize(dest_key, size)
        return size

    def local_path(self, key: str) -> Path | None:
        """A filesystem path for tools that need one (PyAV, libarchive), when the store has it."""
        return None

    async def close(self) -> None:
        return None

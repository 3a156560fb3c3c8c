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

_KEY = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


class InvalidKey(ValueError):
    pass


def check_key(key: str) -> str:
    """Keys are made by omnidrop itself; still refuse anything that could walk out of the store."""
    if not _KEY.match(key) or any(part in (".", "..") for part in key.split("/")):
        raise InvalidKey(key)
    return key


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int


class BlobStore(ABC):
    @abstractmethod
    async def write(self, key: str, offset: int, chunks: AsyncIterable[bytes]) -> int:
        """Write the stream at `offset` (creating the blob if needed), overwriting what is there.

        Returns the number of bytes written; they are durable when this returns. If `chunks` raises,
        the exception propagates and nothing from this call counts as written.
        """

    @abstractmethod
    async def finalize(self, key: str, size: int) -> None:
        """Called once the blob holds all `size` bytes: make it a complete, readable object."""

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

    def local_path(self, key: str) -> Path | None:
        """A filesystem path for tools that need one (PyAV, libarchive), when the store has it."""
        return None

    async def close(self) -> None:
        return None

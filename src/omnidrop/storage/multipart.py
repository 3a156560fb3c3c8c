"""The presigned-parts capability of a blob store: S3-style multipart uploads driven by clients.

The server creates an upload, hands out one URL per part, the client PUTs each part and keeps the
ETag (quoted MD5 hex), then the server completes the upload with the ordered (number, etag) list.
On S3 the part URLs are real presigned UploadPart URLs; on local disk `presign_part` returns None and
omnidrop receives the part itself (`write_part`) through its own signed URL.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable
from dataclasses import dataclass

MiB = 1024 * 1024
GiB = 1024 * MiB
MIN_PART_SIZE = 5 * MiB  # S3's floor for every part but the last
MAX_PART_SIZE = 5 * GiB
MAX_PARTS = 10_000


@dataclass(frozen=True)
class PartInfo:
    number: int
    size: int
    etag: str  # quoted, as S3 sends it: '"<md5 hex>"'


def quote_etag(value: str) -> str:
    return f'"{value.strip().strip(chr(34))}"'


def multipart_etag(etags: list[str]) -> str:
    """S3's ETag of a completed multipart object: md5 of the concatenated binary part MD5s, dash, count."""
    digest = hashlib.md5(b"".join(bytes.fromhex(e.strip('"')) for e in etags))
    return f'"{digest.hexdigest()}-{len(etags)}"'


class MultipartError(Exception):
    """A store refused a multipart operation (unknown upload, bad part list)."""


class MultipartStore(ABC):
    min_part_size: int = MIN_PART_SIZE

    @abstractmethod
    async def create_multipart(self, key: str) -> str:
        """Start a multipart upload that will become blob `key`; returns the store's upload id."""

    @abstractmethod
    def presign_part(self, key: str, upload_id: str, number: int, expires_in: int) -> str | None:
        """A URL the client PUTs part `number` to, or None when omnidrop must receive the part itself."""

    @abstractmethod
    async def completed_size(self, key: str) -> int | None:
        """The size of the object a completed upload made at `key`, as the store holds it; None if none."""

    async def write_part(self, key: str, upload_id: str, number: int, chunks: AsyncIterable[bytes]) -> PartInfo:
        """Store one part received by omnidrop (stores without presigned part URLs). Re-PUT overwrites.

        Stores whose clients PUT parts straight to them (S3) refuse: the bytes never pass through omnidrop."""
        raise MultipartError(f"{type(self).__name__} takes parts only through its presigned URLs")

    @abstractmethod
    async def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        """Every part the store holds for the upload, by number. Raises MultipartError if it is unknown."""

    @abstractmethod
    async def complete_multipart(self, key: str, upload_id: str, parts: list[PartInfo]) -> None:
        """Assemble `parts` (already validated, ascending) into blob `key` and drop the upload."""

    @abstractmethod
    async def abort_multipart(self, key: str, upload_id: str) -> None:
        """Remove the upload and every part; an unknown upload is not an error."""

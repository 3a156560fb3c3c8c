"""Per-chunk digests for tus `Upload-Checksum`: computed while the bytes stream, checked before commit."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable

from omnidrop.uploads.errors import ChecksumMismatch, UploadError


class UnsupportedChecksum(UploadError):
    code = "unsupported_checksum_algorithm"


class InvalidChecksum(UploadError):
    code = "invalid_checksum"


def _crc32c_factory() -> Callable[[], object] | None:
    try:
        import crc32c  # hardware-accelerated CRC-32C; advertised only when installed
    except ImportError:
        return None
    return crc32c.CRC32CHash


_FACTORIES: dict[str, Callable[[], object]] = {
    "sha1": hashlib.sha1,
    "md5": hashlib.md5,
    "sha256": hashlib.sha256,
}
if (_crc := _crc32c_factory()) is not None:
    _FACTORIES["crc32c"] = _crc

ALGORITHMS: tuple[str, ...] = tuple(_FACTORIES)


class ChunkDigest:
    """A `ChunkCheck` for the core: hashes what streams through, then compares with the expected digest."""

    def __init__(self, algorithm: str, expected: bytes) -> None:
        factory = _FACTORIES.get(algorithm)
        if factory is None:
            raise UnsupportedChecksum(f"unsupported checksum algorithm {algorithm!r}", supported=list(ALGORITHMS))
        self.algorithm = algorithm
        self.expected = expected
        self._hash = factory()

    @classmethod
    def parse(cls, header: str) -> ChunkDigest:
        """`<algorithm> <base64 digest>` as in tus `Upload-Checksum`."""
        algorithm, _, encoded = header.strip().partition(" ")
        if algorithm not in _FACTORIES:
            raise UnsupportedChecksum(f"unsupported checksum algorithm {algorithm!r}", supported=list(ALGORITHMS))
        try:
            expected = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidChecksum("the checksum is not valid base64") from None
        return cls(algorithm, expected)

    def update(self, chunk: bytes) -> None:
        self._hash.update(chunk)

    def verify(self) -> None:
        if self._hash.digest() != self.expected:
            raise ChecksumMismatch(f"the {self.algorithm} checksum of the chunk does not match")

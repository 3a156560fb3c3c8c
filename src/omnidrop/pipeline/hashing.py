"""Streaming SHA-256 of a stored file."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK_SIZE = 1 << 20


def sha256_file(path: Path, chunk_size: int = CHUNK_SIZE) -> str:
    """Hex SHA-256 of the file, read through one reused buffer so memory stays at chunk_size."""
    digest = hashlib.sha256()
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buffer):
            digest.update(view[:n])
    return digest.hexdigest()

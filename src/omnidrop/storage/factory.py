"""Pick the blob store from `OMNIDROP_STORAGE_URL` (file:///path is the default)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from omnidrop.settings import Settings
from omnidrop.storage.base import BlobStore
from omnidrop.storage.local import LocalBlobStore


class UnsupportedStorage(ValueError):
    pass


def open_store(settings: Settings) -> BlobStore:
    url = urlparse(settings.resolved_storage_url)
    if url.scheme == "file":
        return LocalBlobStore(Path(url.path), fsync=settings.fsync)
    raise UnsupportedStorage(f"no blob store for {url.scheme!r} URLs (file:// is supported)")

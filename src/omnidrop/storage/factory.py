"""Pick the blob store from `OMNIDROP_STORAGE_URL` (file:///path is the default)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from omnidrop.settings import Settings
from omnidrop.storage.base import BlobStore
from omnidrop.storage.local import LocalBlobStore
from omnidrop.storage.local_parts import LocalMultipart
from omnidrop.storage.multipart import MultipartStore
from omnidrop.storage.reserve import DiskReserve


class UnsupportedStorage(ValueError):
    pass


def open_store(settings: Settings, reserve: DiskReserve | None = None) -> BlobStore:
    """`reserve`: the data dir's disk reserve, which a local store honours (storage/reserve.py)."""
    url = urlparse(settings.resolved_storage_url)
    if url.scheme == "file":
        return LocalBlobStore(Path(url.path), fsync=settings.fsync, reserve=reserve)
    if url.scheme == "s3":
        from omnidrop.storage.s3 import S3BlobStore

        return S3BlobStore(settings.resolved_storage_url)
    raise UnsupportedStorage(f"no blob store for {url.scheme!r} URLs (file:// and s3:// are supported)")


def multipart_store(store: BlobStore) -> MultipartStore:
    """The presigned-parts capability of `store`: S3 presigns itself, local disk gets its part folder."""
    if isinstance(store, MultipartStore):
        return store
    if isinstance(store, LocalBlobStore):
        return LocalMultipart(store.root, fsync=store.fsync, reserve=store.reserve)
    raise UnsupportedStorage(f"{type(store).__name__} has no multipart uploads")

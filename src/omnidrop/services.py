"""The long-lived objects one process needs, built from settings: database, blob store, core, keys."""

from __future__ import annotations

from dataclasses import dataclass

from omnidrop.auth.keys import KeyService
from omnidrop.db.engine import Database
from omnidrop.settings import Settings
from omnidrop.storage.base import BlobStore
from omnidrop.storage.factory import open_store
from omnidrop.uploads.core import UploadCore, UploadLimits


def upload_limits(settings: Settings) -> UploadLimits:
    return UploadLimits(
        ttl_seconds=settings.upload_ttl_seconds,
        max_file_bytes=settings.max_file_bytes,
        max_session_bytes=settings.max_session_bytes,
        allowed_extensions=[e.lower().lstrip(".") for e in settings.allowed_extensions],
        lease_ttl=settings.lease_ttl_seconds,
        lease_renew=settings.lease_renew_seconds,
        lease_wait=settings.lease_wait_seconds,
    )


@dataclass
class Services:
    settings: Settings
    db: Database
    store: BlobStore
    uploads: UploadCore
    keys: KeyService

    @classmethod
    def open(cls, settings: Settings) -> Services:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url)
        store = open_store(settings)
        return cls(settings, db, store, UploadCore(db, store, upload_limits(settings)), KeyService(db))

    async def close(self) -> None:
        await self.store.close()
        await self.db.dispose()

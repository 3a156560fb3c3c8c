"""Keeps an upload object's `tus_links` in step with the tus uploads announced for it.

A client may name the upload object in its tus metadata (`walkthrough_upload_id`, the id from step
2). The upload events then maintain the link: created → uploading, finished → finished, terminated →
removed. They arrive through the outbox, at least once and in order per upload, so each handler is
idempotent: it inserts what is missing and never moves a link backwards.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from omnidrop.db.engine import Database
from omnidrop.db.models import WalkthroughTusLink, WalkthroughUpload
from omnidrop.db.types import utcnow
from omnidrop.uploads.events import FINISHED, TERMINATED, UploadEvent

META_KEY = "walkthrough_upload_id"
UPLOADING = "uploading"
DONE = "finished"


class TusLinkTracker:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def wants(event: UploadEvent) -> bool:
        return bool((event.meta.get(META_KEY) or "").strip())

    async def on_event(self, event: UploadEvent) -> None:
        raw = (event.meta.get(META_KEY) or "").strip()
        if not raw.isdigit() or len(raw) > 18:
            return
        async with self.db.write() as s:
            if event.type == TERMINATED:
                await s.execute(delete(WalkthroughTusLink).where(WalkthroughTusLink.resumable_id == event.upload_id))
                return
            target = await s.get(WalkthroughUpload, int(raw))
            if target is None or target.owner_id != event.owner_id:  # only the owner's own upload objects
                return
            link = (await s.execute(select(WalkthroughTusLink)
                                    .where(WalkthroughTusLink.resumable_id == event.upload_id))).scalar_one_or_none()
            state = DONE if event.type == FINISHED else UPLOADING
            if link is None:
                s.add(WalkthroughTusLink(upload_id=target.id, resumable_id=event.upload_id, state=state,
                                         created_at=utcnow()))
            elif state == DONE:
                link.state = DONE

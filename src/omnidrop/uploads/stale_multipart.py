"""Aborting S3 multipart uploads that nothing will ever finish.

A writer killed midway leaves an open multipart upload behind: a derived output's put, a compose, an
append whose marker was never written. S3 keeps (and bills) its parts forever. An upload is left alone
while anything live refers to it: a presigned-parts upload in the ledger (multipart_uploads, open), an
upload file not yet complete whose blob it builds (the fenced writers keep its id in the file's row,
not in the bucket; the session's expiry or deletion removes it), or an unfinished append-written blob
whose marker names it. The rest are aborted once older than a bound, so a writer that is merely slow
is not cut off.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from omnidrop.db.clock import db_now
from omnidrop.db.engine import Database
from omnidrop.db.models import MultipartUpload, UploadFile
from omnidrop.storage.base import BlobStore

log = logging.getLogger(__name__)


async def abort_stale_multipart(db: Database, store: BlobStore, older_than: timedelta) -> int:
    """Abort unreferenced multipart uploads initiated more than `older_than` ago; returns how many."""
    listing = getattr(store, "open_multipart_uploads", None)
    if listing is None:  # local disk: nothing is left open in a store
        return 0
    # Listing before the query: an upload file's row is committed before its first byte is written, so
    # every upload listed here that a file builds has that file in the query (the other order would
    # miss files begun in between, and abort their uploads).
    found = [u async for u in listing()]
    async with db.read() as s:
        cutoff = await db_now(s) - older_than
        live = set(await s.scalars(select(MultipartUpload.store_upload_id).where(MultipartUpload.state == "open")))
        # Resumable and chunked uploads still being written, days long at times: never cut off by age.
        writing = set(await s.scalars(select(UploadFile.blob_key).where(UploadFile.complete.is_(False))))
    aborted = 0
    for key, upload_id, initiated in found:
        if initiated >= cutoff or upload_id in live or key in writing:
            continue
        if await store.append_upload_id(key) == upload_id:
            continue
        await store.abort_multipart(key, upload_id)
        log.info("aborted stale multipart upload %s of %s", upload_id, key)
        aborted += 1
    return aborted

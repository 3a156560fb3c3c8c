"""Operator-facing S3 behaviour: presigned URLs for the clients' address, the create-bucket command,
and the reaper that aborts multipart uploads killed writers left open."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta

from sqlalchemy import select

from omnidrop.auth.keys import KeyService
from omnidrop.db.models import MultipartUpload, UploadFile
from omnidrop.db.types import utcnow
from omnidrop.storage.s3 import S3BlobStore
from omnidrop.uploads.core import UploadCore, UploadLimits
from omnidrop.uploads.stale_multipart import abort_stale_multipart
from tests.support.streams import stream

MiB = 1024 * 1024


async def test_presigned_urls_use_the_public_endpoint(moto):
    public = "https://files.example.com:8443"
    store = S3BlobStore(moto.storage_url() + f"&public_endpoint={public}")
    try:
        await store.put("frames/0001.jpg", stream(b"jpeg"))  # the server itself still talks to moto
        url = store.presign_get("frames/0001.jpg")
        assert url.startswith(f"{public}/{store.bucket}/frames/0001.jpg?")
        assert store.presign_put("frames/0002.jpg").startswith(f"{public}/")
        assert store.presign_part("x/y", "upload", 1, 60).startswith(f"{public}/")
        assert await store.size("frames/0001.jpg") == 4
    finally:
        await store.close()


def test_the_create_bucket_command_makes_a_missing_bucket_once(moto, tmp_path):
    bucket = f"omnidrop-{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "OMNIDROP_DATA_DIR": str(tmp_path),
           "OMNIDROP_STORAGE_URL": moto.storage_url(bucket)}
    run = [sys.executable, "-m", "omnidrop.cli.main", "storage", "create-bucket"]
    first = subprocess.run(run, env=env, capture_output=True, text=True, check=True)
    second = subprocess.run(run, env=env, capture_output=True, text=True, check=True)
    assert f"bucket {bucket} created" in first.stdout
    assert f"bucket {bucket} already exists" in second.stdout
    assert bucket in [b["Name"] for b in moto.client().list_buckets()["Buckets"]]


async def test_the_reaper_aborts_only_unreferenced_old_multipart_uploads(moto, db):
    store = S3BlobStore(moto.storage_url())
    s3 = moto.client()
    try:
        # A writer killed mid-put: an open upload nothing refers to.
        killed = s3.create_multipart_upload(Bucket=store.bucket, Key="vehicles/v/frames/0001.jpg")["UploadId"]
        # An unfinished upload file, written by appends: its marker names its multipart upload.
        await store.write("uploads/s/f", 0, stream(os.urandom(6 * MiB)))
        appending = await store.append_upload_id("uploads/s/f")
        # A client's presigned-parts upload, in the ledger.
        presigned = await store.create_multipart("captures/c/input")
        owner = await KeyService(db).ensure_owner(f"owner-{os.urandom(4).hex()}")
        async with db.write() as s:
            s.add(MultipartUpload(id=uuid.uuid4().hex, owner_id=owner, key="captures/c/input",
                                  store_upload_id=presigned, state="open", created_at=utcnow()))

        def open_ids() -> set[str]:
            return {u["UploadId"] for u in s3.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])}

        # moto reports every upload as initiated on 2010-11-10: a bound reaching back before that keeps all.
        assert await abort_stale_multipart(db, store, timedelta(days=365 * 30)) == 0
        assert open_ids() == {killed, appending, presigned}
        assert await abort_stale_multipart(db, store, timedelta(days=1)) == 1
        assert open_ids() == {appending, presigned}
    finally:
        await store.close()


async def test_the_reaper_leaves_the_multipart_upload_of_a_file_still_being_written(moto, db):
    """Fenced writers keep their multipart upload's id in the file's row, not in a marker: an upload
    file not yet complete (a resumable upload may last days) keeps its upload whatever its age."""
    store = S3BlobStore(moto.storage_url() + "&part_size=5242880")
    try:
        core = UploadCore(db, store, UploadLimits(allowed_extensions=["mp4"]))
        owner = await KeyService(db).ensure_owner(f"owner-{os.urandom(4).hex()}")
        sid = (await core.create_session(owner)).id
        data = os.urandom(7 * MiB)
        await core.write(owner, sid, "walk.mp4", start=0, length=6 * MiB, total=len(data), body=stream(data[:6 * MiB]))
        assert await abort_stale_multipart(db, store, timedelta(days=1)) == 0  # moto says: from 2010
        done = await core.write(owner, sid, "walk.mp4", start=6 * MiB, length=MiB, total=len(data),
                                body=stream(data[6 * MiB:]))
        assert done.complete
        async with db.read() as s:
            key = await s.scalar(select(UploadFile.blob_key).where(UploadFile.session_id == sid))
        assert b"".join([c async for c in store.read(key)]) == data
    finally:
        await store.close()

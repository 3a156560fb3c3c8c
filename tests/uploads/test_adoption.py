"""Adding finished tus uploads and stored multipart objects to an upload session (uploads/adoption.py)."""

from __future__ import annotations

import os

import pytest

from omnidrop.auth.keys import KeyService
from omnidrop.auth.quotas import Quotas, used_bytes
from omnidrop.storage.local import LocalBlobStore
from omnidrop.uploads.adoption import FileExists, SourceNotFound, adopt_blob, adopt_resumable
from omnidrop.uploads.core import UploadCore, UploadLimits
from omnidrop.uploads.errors import (
    ExtensionNotAllowed,
    FileTooLarge,
    SessionNotFound,
    SessionTooLarge,
    StorageQuotaExceeded,
)
from omnidrop.uploads.events import EventBus
from omnidrop.uploads.resumable import ResumableUploads, UploadGone

LIMITS = UploadLimits(ttl_seconds=3600, max_file_bytes=10_000, max_session_bytes=15_000,
                      allowed_extensions=["jpg", "e57"])


async def body(data: bytes):
    yield data


@pytest.fixture
async def uploads(db, tmp_path):
    return ResumableUploads(UploadCore(db, LocalBlobStore(tmp_path / "blobs"), LIMITS), EventBus())


@pytest.fixture
async def owner(db):
    return await KeyService(db).ensure_owner(f"owner-{os.urandom(4).hex()}")


async def finished(uploads: ResumableUploads, owner: str, data: bytes) -> str:
    info = await uploads.create(owner, length=len(data))
    await uploads.append(owner, info.id, offset=0, body=body(data))
    return info.id


async def test_a_finished_tus_upload_moves_into_the_session(uploads, owner):
    core = uploads.core
    tus_id = await finished(uploads, owner, b"x" * 3000)
    sid = (await core.create_session(owner)).id
    got = await adopt_resumable(core, owner, sid, "floor/scan.e57", tus_id)
    assert (got.name, got.received, got.total, got.complete) == ("floorscan.e57", 3000, 3000, True)
    session = await core.get_session(owner, sid)
    assert [(f.name, f.received, f.complete) for f in session.files] == [("floorscan.e57", 3000, True)]
    # The bytes are counted once (the file row moved), the tus URL is handed over, and it cannot be added twice.
    with pytest.raises(UploadGone):
        await uploads.get(owner, tus_id)
    with pytest.raises(SourceNotFound):
        await adopt_resumable(core, owner, sid, "again.e57", tus_id)
    async with core.db.read() as s:
        assert await used_bytes(s, owner) == 3000


async def test_unfinished_unknown_or_another_owners_upload_is_refused(uploads, owner, db):
    core = uploads.core
    sid = (await core.create_session(owner)).id
    partial = await uploads.create(owner, length=100)
    await uploads.append(owner, partial.id, offset=0, body=body(b"y" * 40))
    with pytest.raises(SourceNotFound) as unfinished:
        await adopt_resumable(core, owner, sid, "a.e57", partial.id)
    assert unfinished.value.details["received"] == 40
    with pytest.raises(SourceNotFound):
        await adopt_resumable(core, owner, sid, "a.e57", "no" * 12)
    other = await KeyService(db).ensure_owner(f"other-{os.urandom(4).hex()}")
    theirs = await finished(uploads, other, b"z" * 10)
    with pytest.raises(SourceNotFound):
        await adopt_resumable(core, owner, sid, "a.e57", theirs)
    with pytest.raises(SessionNotFound):  # nor into another owner's session
        await adopt_resumable(core, other, sid, "a.e57", theirs)
    assert (await uploads.get(other, theirs)).complete  # untouched


async def test_the_session_rules_of_a_direct_write_apply(uploads, owner):
    core = uploads.core
    sid = (await core.create_session(owner)).id
    await adopt_resumable(core, owner, sid, "a.e57", await finished(uploads, owner, b"1" * 9000))
    with pytest.raises(FileExists):
        await adopt_resumable(core, owner, sid, "a.e57", await finished(uploads, owner, b"2" * 10))
    with pytest.raises(ExtensionNotAllowed):
        await adopt_resumable(core, owner, sid, "a.exe", await finished(uploads, owner, b"3" * 10))
    with pytest.raises(SessionTooLarge):
        await adopt_resumable(core, owner, sid, "b.e57", await finished(uploads, owner, b"4" * 7000))
    with pytest.raises(FileTooLarge):
        await adopt_blob(core, owner, sid, "c.e57", blob_key="companion/x/c.e57", size=20_000)


async def test_a_stored_multipart_object_is_added_once_and_counts_against_the_quota(uploads, owner, db):
    core = uploads.core
    sid = (await core.create_session(owner)).id
    got = await adopt_blob(core, owner, sid, "big.e57", blob_key="companion/abc/big.e57", size=4000)
    assert (got.name, got.received, got.complete) == ("big.e57", 4000, True)
    with pytest.raises(SourceNotFound):
        await adopt_blob(core, owner, (await core.create_session(owner)).id, "big.e57", blob_key="companion/abc/big.e57", size=4000)
    strict = UploadCore(db, core.store, LIMITS, Quotas(default_quota_bytes=5000))
    with pytest.raises(StorageQuotaExceeded):
        await adopt_blob(strict, owner, sid, "more.e57", blob_key="companion/def/more.e57", size=2000)

"""Direct video uploads: a group of role-tagged files for one video, each an S3-style multipart upload.

A group is `uploading` until every file is complete (then `completed`, with a library entry), or it is
`cancelled` (final: it cannot be resumed) or `expired` (5 days after creation; the reaper deletes the
partial files). Completing the group also queues the `video.verify` job
(pipeline/video_verification.py), which probes every file by content and records the result on the
library entry: pending -> verifying -> verified | unverified | failed. Role rules: the Separate layout
takes exactly one video_left and one video_right and no video; every other layout exactly one video and
no eye files; at most one aime and one fcpxmld.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from sqlalchemy import select, update

from omnidrop.db.clock import db_time
from omnidrop.db.engine import Database
from omnidrop.db.models import VideoLibraryEntry, VideoUploadFile, VideoUploadGroup
from omnidrop.jobs.dispatch import Dispatch
from omnidrop.jobs.store import add_job
from omnidrop.storage.base import BlobStore
from omnidrop.storage.multipart import MAX_PARTS, MiB
from omnidrop.uploads.errors import UploadError
from omnidrop.uploads.names import clean_text, flatten_filename
from omnidrop.uploads.parts import InvalidPartNumber, PartsCore

log = logging.getLogger(__name__)

GROUP_TTL = timedelta(days=5)
PART_SIZE = 8 * MiB  # grows for files that would need more than 10 000 parts
UPLOADING, COMPLETED, CANCELLED, EXPIRED = "uploading", "completed", "cancelled", "expired"
PENDING = "pending"
VERIFY_KIND = "video.verify"
VERIFYING, VERIFIED, VERIFY_FAILED = "verifying", "verified", "failed"  # after PENDING
# Final, like verified and failed: every file passed but one could only be accepted unchecked (or the entry
# predates verification, migration 0007).
UNVERIFIED = "unverified"
VERIFY_FINAL = (VERIFIED, UNVERIFIED, VERIFY_FAILED)

LAYOUTS = ("Separate", "SideBySide", "OverUnder", "MVHEVC", "Mono")
EXTENSIONS = {
    "video": {"aivu", "mp4", "mov"},
    "video_left": {"aivu", "mp4", "mov"},
    "video_right": {"aivu", "mp4", "mov"},
    "audio": {"m4a", "mp3", "wav", "aac", "flac", "aiff", "aif", "caf", "ac3", "eac3"},
    "subtitle": {"srt", "vtt", "ttml", "ass", "ssa", "scc"},
    "aime": {"aime"},
    "fcpxmld": {"zip", "fcpxmld"},
}
ROLES = tuple(EXTENSIONS)
TITLE_CHARS = 500  # what the title column holds


class VideoUploadError(UploadError):
    status = 400


class InvalidLayout(VideoUploadError):
    code = "invalid_layout"


class InvalidFileRoles(VideoUploadError):
    code = "invalid_file_roles"


class UnsupportedFileType(VideoUploadError):
    code = "unsupported_file_type"


class GroupNotFound(VideoUploadError):
    code = "upload_session_not_found"
    status = 404


class FileNotFound(VideoUploadError):
    code = "upload_not_found"
    status = 404


class FileNotComplete(VideoUploadError):
    code = "upload_not_complete"
    status = 409


class GroupCancelled(VideoUploadError):
    code = "upload_session_cancelled"
    status = 409


class GroupCompleted(VideoUploadError):
    code = "upload_session_completed"
    status = 409


class GroupExpired(VideoUploadError):
    code = "upload_session_expired"
    status = 410


@dataclass(frozen=True)
class FileSpec:
    role: str
    filename: str
    size: int
    content_type: str | None = None


def plan_parts(size: int) -> tuple[int, int]:
    part = max(PART_SIZE, math.ceil(size / MAX_PARTS / MiB) * MiB)
    return part, max(1, math.ceil(size / part))


def check_roles(layout: str, files: list[FileSpec]) -> None:
    if layout not in LAYOUTS:
        raise InvalidLayout(f"unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}")
    for f in files:
        if f.role not in ROLES:
            raise InvalidFileRoles(f"unknown role {f.role!r} for {f.filename!r}; use one of {', '.join(ROLES)}")
        ext = PurePosixPath(f.filename).suffix.lower().lstrip(".")
        if ext not in EXTENSIONS[f.role]:
            raise UnsupportedFileType(
                f"{f.filename!r} cannot be a {f.role} file; use .{', .'.join(sorted(EXTENSIONS[f.role]))}"
            )
    n = Counter(f.role for f in files)
    if layout == "Separate":
        if n["video_left"] != 1 or n["video_right"] != 1 or n["video"]:
            raise InvalidFileRoles(
                "the Separate layout requires exactly one video_left file and one video_right file (and no video file)"
            )
    elif n["video"] != 1 or n["video_left"] or n["video_right"]:
        raise InvalidFileRoles(
            f"the {layout} layout requires exactly one video file (video_left and video_right are for Separate)"
        )
    for single in ("aime", "fcpxmld"):
        if n[single] > 1:
            raise InvalidFileRoles(f"only one {single} file is allowed per upload group")


def file_key(group_id: str, file_id: str, filename: str) -> str:
    """Where a group's file is stored once complete."""
    ext = "".join(c for c in PurePosixPath(filename).suffix.lower() if c.isalnum())
    return f"videos/{group_id}/{file_id}.{ext}" if ext else f"videos/{group_id}/{file_id}"


@dataclass(frozen=True)
class GroupView:
    group: VideoUploadGroup
    files: list[VideoUploadFile]
    library_id: str | None
    library: VideoLibraryEntry | None = None  # with the verification result
    lapsed: bool = False  # past its expiry by the database's clock (the reaper may not have been round yet)


class VideoUploads:
    def __init__(self, db: Database, store: BlobStore, parts: PartsCore, max_attempts: int = 3, *,
                 dispatch: Dispatch) -> None:
        self.db = db
        self.store = store
        self.parts = parts
        self.max_attempts = max_attempts
        self.dispatch = dispatch

    async def create(self, owner_id: str, title: str | None, layout: str, specs: list[FileSpec]) -> GroupView:
        # The one naming rule (uploads/names.py): a file name the client chose is flattened, or refused
        # with invalid_filename (nothing usable left, over 255 bytes) so the client can pick another; the
        # title is free text and only loses invisible and control characters.
        specs = [replace(spec, filename=flatten_filename(spec.filename)) for spec in specs]
        title = clean_text(title, TITLE_CHARS) if title is not None else None
        check_roles(layout, specs)
        # The 5 days run on the database's clock, the same for every node (DESIGN.md, invariant 9).
        group = VideoUploadGroup(id=secrets.token_hex(16), owner_id=owner_id, title=title, layout=layout,
                                 state=UPLOADING, created_at=db_time(0), expires_at=db_time(GROUP_TTL.total_seconds()))
        files = []
        for spec in specs:
            file_id = secrets.token_hex(16)
            upload = await self.parts.create(owner_id, file_key(group.id, file_id, spec.filename))
            part_size, part_count = plan_parts(spec.size)
            files.append(VideoUploadFile(
                id=file_id, group_id=group.id, role=spec.role, filename=spec.filename, size=spec.size,
                content_type=spec.content_type, part_size=part_size, part_count=part_count,
                multipart_id=upload.id, state=PENDING,
            ))
        async with self.db.write() as s:
            s.add(group)
            await s.flush()
            await s.refresh(group)  # the times the database gave it
            s.add_all(files)
        return GroupView(group, files, None)

    async def view(self, owner_id: str, group_id: str) -> GroupView:
        async with self.db.read() as s:
            group, lapsed = (await s.execute(
                select(VideoUploadGroup, (VideoUploadGroup.expires_at <= db_time(0)).label("lapsed"))
                .where(VideoUploadGroup.id == group_id))).first() or (None, None)
            if group is None or group.owner_id != owner_id:
                raise GroupNotFound(f"no upload session {group_id!r}")
            files = (await s.scalars(
                select(VideoUploadFile).where(VideoUploadFile.group_id == group_id).order_by(VideoUploadFile.id)
            )).all()
            entry = await s.scalar(select(VideoLibraryEntry).where(VideoLibraryEntry.group_id == group_id))
        return GroupView(group, list(files), entry.id if entry else None, entry, bool(lapsed))

    async def _uploading(self, owner_id: str, group_id: str, file_id: str) -> tuple[GroupView, VideoUploadFile]:
        view = await self.view(owner_id, group_id)
        state = view.group.state
        if state == UPLOADING and view.lapsed:
            state = EXPIRED  # the reaper has not been round yet; it is expired all the same
        if state == CANCELLED:
            raise GroupCancelled("the upload session was cancelled and cannot be resumed")
        if state == EXPIRED:
            raise GroupExpired("the upload session expired; its partial files were deleted")
        file = next((f for f in view.files if f.id == file_id), None)
        if file is None:
            raise FileNotFound(f"no file {file_id!r} in upload session {group_id!r}")
        return view, file

    async def stored_key(self, owner_id: str, group_id: str, file_id: str) -> str:
        """Where a completed file of a live group is stored (the web app's player reads it)."""
        view = await self.view(owner_id, group_id)
        file = next((f for f in view.files if f.id == file_id), None)
        if file is None:
            raise FileNotFound(f"no file {file_id!r} in upload session {group_id!r}")
        if file.state != COMPLETED or view.group.state in (CANCELLED, EXPIRED):
            raise FileNotComplete(f"file {file_id!r} is {file.state} in a {view.group.state} upload session")
        return file_key(group_id, file.id, file.filename)

    async def part_urls(self, owner_id: str, group_id: str, file_id: str, numbers: list[int] | None, url_for):
        """`url_for(upload, number)` makes one URL. Callable any number of times (URLs expire)."""
        view, file = await self._uploading(owner_id, group_id, file_id)
        if file.state == COMPLETED:
            raise GroupCompleted(f"file {file_id!r} is already complete")
        numbers = numbers or list(range(1, file.part_count + 1))
        for n in numbers:
            if not 1 <= n <= file.part_count:
                raise InvalidPartNumber(n)
        upload = await self.parts.open_upload(file.multipart_id, owner_id)
        return file, [(n, url_for(upload, n)) for n in numbers]

    async def complete_file(self, owner_id: str, group_id: str, file_id: str, parts: list[tuple[int, str]]) -> GroupView:
        view, file = await self._uploading(owner_id, group_id, file_id)
        if file.state != COMPLETED:
            upload = await self.parts.get(file.multipart_id, owner_id)
            await self.parts.complete(upload, parts, expected_size=file.size)
            async with self.db.write() as s:
                await s.execute(update(VideoUploadFile).where(VideoUploadFile.id == file.id)
                                .values(state=COMPLETED, completed_at=db_time(0)))
        await self._finish_group(view.group)
        return await self.view(owner_id, group_id)

    async def _finish_group(self, group: VideoUploadGroup) -> None:
        """Once every file is complete: the group is completed and gets its one library entry, and
        the entry's verification job is queued in the same transaction."""
        job_id = None
        async with self.db.write() as s:
            pending = await s.scalar(select(VideoUploadFile.id).where(
                VideoUploadFile.group_id == group.id, VideoUploadFile.state != COMPLETED).limit(1))
            if pending is not None:
                return
            now = db_time(0)
            done = await s.execute(update(VideoUploadGroup)
                                   .where(VideoUploadGroup.id == group.id, VideoUploadGroup.state == UPLOADING)
                                   .values(state=COMPLETED, completed_at=now))
            if done.rowcount == 1:
                s.add(VideoLibraryEntry(id=secrets.token_hex(16), owner_id=group.owner_id, group_id=group.id,
                                        title=group.title, layout=group.layout, created_at=now,
                                        verification_state=PENDING))
                job_id = await add_job(s, VERIFY_KIND, group.id, self.max_attempts)
        if job_id is not None:
            await self.dispatch(job_id)  # lost with a crash right here: the sweep re-sends it

    async def cancel(self, owner_id: str, group_id: str) -> GroupView:
        """Cancels the whole group and deletes what was uploaded. Idempotent; a completed group stays."""
        view = await self.view(owner_id, group_id)
        if view.group.state == COMPLETED:
            raise GroupCompleted("the upload session is complete and can no longer be cancelled")
        if view.group.state == UPLOADING:
            await self._close(view, CANCELLED)
        return await self.view(owner_id, group_id)

    async def _close(self, view: GroupView, state: str) -> None:
        # Bytes first: if this dies midway the group is still `uploading`, so a retry or the reaper
        # finishes the job. A completion racing with it fails, since its parts are gone.
        for f in view.files:
            await self.parts.abort(await self.parts.get(f.multipart_id))
        await self.store.delete_prefix(f"videos/{view.group.id}")
        async with self.db.write() as s:
            await s.execute(update(VideoUploadGroup)
                            .where(VideoUploadGroup.id == view.group.id, VideoUploadGroup.state == UPLOADING)
                            .values(state=state))

    async def reap_expired(self, now: datetime | None = None) -> int:
        """Expire groups past their 5 days and delete their partial files. Judged by the database's
        clock unless a test hands in `now`."""
        now = db_time(0) if now is None else now
        async with self.db.read() as s:
            rows = (await s.execute(select(VideoUploadGroup.id, VideoUploadGroup.owner_id).where(
                VideoUploadGroup.state == UPLOADING, VideoUploadGroup.expires_at < now))).all()
        reaped = 0
        for group_id, owner_id in rows:
            try:
                await self._close(await self.view(owner_id, group_id), EXPIRED)
            except Exception:  # one group whose parts cannot be deleted now must not keep the rest
                log.exception("could not expire video upload group %s; the next reap tries again", group_id)
                continue
            reaped += 1
        return reaped

    async def list_groups(self, owner_id: str, limit: int, offset: int) -> list[GroupView]:
        """Every group of the owner whatever its state, newest first (the web app's list)."""
        async with self.db.read() as s:
            group_ids = (await s.scalars(
                select(VideoUploadGroup.id).where(VideoUploadGroup.owner_id == owner_id)
                .order_by(VideoUploadGroup.created_at.desc(), VideoUploadGroup.id).limit(limit).offset(offset)
            )).all()
        return [await self.view(owner_id, gid) for gid in group_ids]

    async def library(self, owner_id: str, limit: int, offset: int) -> list[GroupView]:
        async with self.db.read() as s:
            group_ids = (await s.scalars(
                select(VideoLibraryEntry.group_id).where(VideoLibraryEntry.owner_id == owner_id)
                .order_by(VideoLibraryEntry.created_at.desc(), VideoLibraryEntry.id).limit(limit).offset(offset)
            )).all()
        return [await self.view(owner_id, gid) for gid in group_ids]

"""Walkthrough projects, drawings and upload objects, with videos taken from finished resumable uploads."""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from omnidrop.db.clock import db_time
from omnidrop.db.engine import Database
from omnidrop.db.models import (
    Drawing,
    Job,
    WalkthroughPoint,
    WalkthroughProject,
    WalkthroughTusLink,
    WalkthroughUpload,
    WalkthroughVideo,
)
from omnidrop.db.models.walkthrough import project_key
from omnidrop.db.types import utcnow
from omnidrop.jobs.dispatch import Dispatch
from omnidrop.jobs.store import add_job
from omnidrop.storage.base import BlobStore
from omnidrop.telemetry.context import body_counted
from omnidrop.uploads.ids import new_id
from omnidrop.uploads.names import clean_text
from omnidrop.uploads.resumable import ResumableInfo, ResumableUploads, UploadGone, UploadNotFound
from omnidrop.walkthrough.errors import (
    DrawingNotFound,
    InvalidInput,
    ProjectExists,
    ProjectNotFound,
    TusUploadAlreadyLinked,
    TusUploadNotFinished,
    TusUploadNotFound,
    UploadObjectNotFound,
)

_PROJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
CREATED = "created"
QUEUED = "queued"  # videos linked; the walkthrough job picks it up from here
PROCESSING, DONE, FAILED = "processing", "done", "failed"
PROCESS_KIND = "walkthrough.points"  # the job: panoramas and their placement (pipeline/walkthrough_points.py)
MAX_DRAWING_IMAGE = 200 * 1024 * 1024
NAME_CHARS = 300  # what the name and title columns hold
IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/tiff", "image/svg+xml", "application/pdf"}


@dataclass(frozen=True)
class Bounds:
    north: float
    south: float
    east: float
    west: float

    def check(self) -> Bounds:
        if not (-90 <= self.south < self.north <= 90 and -180 <= self.west <= 180 and -180 <= self.east <= 180):
            raise InvalidInput("bounds need -90 <= south < north <= 90 and east, west within -180..180")
        if self.west == self.east:
            raise InvalidInput("bounds need west != east")
        return self


@dataclass(frozen=True)
class VideoLink:
    resumable_id: str
    url: str
    title: str
    file_extension: str


@dataclass(frozen=True)
class UploadObject:
    row: WalkthroughUpload
    videos: list[WalkthroughVideo]
    tus_links: list[WalkthroughTusLink] = field(default_factory=list)


class WalkthroughService:
    def __init__(self, db: Database, store: BlobStore, resumable: ResumableUploads,
                 anonymous_owner: Callable[[], Awaitable[str]] | None = None, max_attempts: int = 3, *,
                 dispatch: Dispatch) -> None:
        self.db = db
        self.store = store
        self.resumable = resumable
        self.max_attempts = max_attempts
        self.dispatch = dispatch
        # When credential-less tus uploads are allowed, step 5 may link them too (their URL is the secret).
        self.anonymous_owner = anonymous_owner

    # -- projects and drawings --------------------------------------------------------------------

    # Project ids are the owner's own (db.models.walkthrough.project_key): another owner's project of the
    # same id is neither visible (404) nor in the way (its id is free to create).

    async def create_project(self, owner_id: str, project_id: str, name: str) -> WalkthroughProject:
        if not _PROJECT_ID.match(project_id or ""):
            raise InvalidInput("project id must be 1-64 letters, digits, '-' or '_', starting with a letter or digit")
        key = project_key(owner_id, project_id)
        project = WalkthroughProject(id=key, owner_id=owner_id, name=name or project_id, created_at=utcnow())
        try:
            async with self.db.write() as s:
                if await s.get(WalkthroughProject, key) is not None:
                    raise ProjectExists(f"project {project_id!r} exists")
                s.add(project)
        except IntegrityError:
            raise ProjectExists(f"project {project_id!r} exists") from None
        return project

    async def list_projects(self, owner_id: str) -> list[WalkthroughProject]:
        async with self.db.read() as s:
            return list((await s.scalars(select(WalkthroughProject).where(WalkthroughProject.owner_id == owner_id)
                                         .order_by(WalkthroughProject.created_at))).all())

    async def project(self, owner_id: str, project_id: str) -> WalkthroughProject:
        async with self.db.read() as s:
            project = await s.get(WalkthroughProject, project_key(owner_id, project_id))
        if project is None or project.owner_id != owner_id:
            raise ProjectNotFound(f"no project {project_id!r}")
        return project

    async def create_drawing(self, owner_id: str, project_id: str, name: str, bounds: Bounds) -> Drawing:
        project = await self.project(owner_id, project_id)
        bounds.check()
        drawing = Drawing(project_id=project.id, name=name, north=bounds.north, south=bounds.south, east=bounds.east,
                          west=bounds.west, created_at=utcnow())
        async with self.db.write() as s:
            s.add(drawing)
        return drawing

    async def list_drawings(self, owner_id: str, project_id: str) -> list[Drawing]:
        project = await self.project(owner_id, project_id)
        async with self.db.read() as s:
            return list((await s.scalars(select(Drawing).where(Drawing.project_id == project.id)
                                         .order_by(Drawing.id))).all())

    async def drawing(self, owner_id: str, drawing_id: int) -> Drawing:
        async with self.db.read() as s:
            row = (await s.execute(select(Drawing, WalkthroughProject.owner_id)
                                   .join(WalkthroughProject, WalkthroughProject.id == Drawing.project_id)
                                   .where(Drawing.id == drawing_id))).first()
        if row is None or row[1] != owner_id:
            raise DrawingNotFound(f"no drawing {drawing_id}")
        return row[0]

    async def set_drawing_image(self, owner_id: str, drawing_id: int, content_type: str,
                                body: AsyncIterable[bytes]) -> Drawing:
        drawing = await self.drawing(owner_id, drawing_id)
        media = content_type.split(";")[0].strip().lower()
        if media not in IMAGE_TYPES:
            raise InvalidInput(f"a drawing image must be one of {sorted(IMAGE_TYPES)}, got {media!r}")
        key = f"drawings/{drawing_id}/{new_id(16)}"

        async def capped() -> AsyncIterator[bytes]:
            seen = 0
            async for chunk in body:
                seen += len(chunk)
                if seen > MAX_DRAWING_IMAGE:
                    raise InvalidInput(f"a drawing image may have at most {MAX_DRAWING_IMAGE} bytes")
                yield chunk

        try:
            size = await self.store.write(key, 0, capped())
        except InvalidInput:
            await self.store.delete(key)
            raise
        body_counted(size, size)
        if size == 0:
            await self.store.delete(key)
            raise InvalidInput("the drawing image is empty")
        await self.store.finalize(key, size)
        old = drawing.image_key
        async with self.db.write() as s:
            row = await s.get(Drawing, drawing_id)
            row.image_key, row.image_type = key, media
        if old:
            await self.store.delete(old)
        return await self.drawing(owner_id, drawing_id)

    # -- upload objects ---------------------------------------------------------------------------

    async def create_upload(self, owner_id: str, project_id: str, *, name: str, day: date, drawing_id: int,
                            uploaded_by: str) -> UploadObject:
        project = await self.project(owner_id, project_id)
        drawing = await self.drawing(owner_id, drawing_id)
        if drawing.project_id != project.id:
            raise DrawingNotFound(f"drawing {drawing_id} is not in project {project_id!r}")
        # Free text shown as the upload's name: the naming rule's cleaning (uploads/names.py) drops
        # control and invisible characters (bidi overrides such as U+202E) and bounds its length.
        name = clean_text(name, NAME_CHARS)
        if not name:
            raise InvalidInput("name must not be empty")
        now = db_time(0)  # lists order by it: one clock for every node
        row = WalkthroughUpload(owner_id=owner_id, project_id=project.id, floor_id=drawing_id, name=name,
                                date=day, processing_status=CREATED, uploaded_by=uploaded_by, is_timelapse=False,
                                inserted_at=now, updated_at=now)
        async with self.db.write() as s:
            s.add(row)
            await s.flush()
            await s.refresh(row)
        return UploadObject(row, [])

    async def get_upload(self, owner_id: str, upload_id: int) -> UploadObject:
        async with self.db.read() as s:
            row = await s.get(WalkthroughUpload, upload_id)
            if row is None or row.owner_id != owner_id:
                raise UploadObjectNotFound(f"no upload {upload_id}")
            videos = (await s.scalars(select(WalkthroughVideo).where(WalkthroughVideo.upload_id == upload_id)
                                      .order_by(WalkthroughVideo.id))).all()
            links = (await s.scalars(select(WalkthroughTusLink).where(WalkthroughTusLink.upload_id == upload_id)
                                     .order_by(WalkthroughTusLink.id))).all()
        return UploadObject(row, list(videos), list(links))

    async def list_uploads(self, owner_id: str, project_id: str) -> list[UploadObject]:
        """A project's upload objects, newest first (the web app's list)."""
        project = await self.project(owner_id, project_id)
        async with self.db.read() as s:
            ids = (await s.scalars(select(WalkthroughUpload.id).where(
                WalkthroughUpload.owner_id == owner_id, WalkthroughUpload.project_id == project.id,
            ).order_by(WalkthroughUpload.inserted_at.desc(), WalkthroughUpload.id.desc()))).all()
        return [await self.get_upload(owner_id, i) for i in ids]

    async def link_videos(
        self, owner_id: str, upload_id: int, *, uploaded_by: str, asset_type: str, links: list[VideoLink],
        start: tuple[float, float], end: tuple[float, float], target_points_count: int,
    ) -> UploadObject:
        """Step 5: attach finished resumable uploads, record the path, and queue processing.

        Every accepted step 5 queues a new job (the path or the videos may have changed); the upload
        object remembers it, so an older job still in the queue stands down."""
        current = await self.get_upload(owner_id, upload_id)
        if asset_type != "video":
            raise InvalidInput(f"asset_type {asset_type!r} is not supported (use \"video\")")
        if not links:
            raise InvalidInput("upload must list at least one file")
        if target_points_count < 0:
            raise InvalidInput("target_points_count must not be negative")
        already = {v.resumable_id for v in current.videos}
        owners = [owner_id] + ([await self.anonymous_owner()] if self.anonymous_owner else [])
        found = []
        for link in links:
            info = await self._find_upload(owners, link)
            if not info.complete:
                raise TusUploadNotFinished(f"the upload at {link.url} has {info.offset} of "
                                           f"{info.length if info.length is not None else '?'} bytes")
            found.append((link, info))
        # Bytes first: consumed uploads stop expiring, so a link row never points at reaped bytes.
        for link, info in found:
            await self.resumable.consume(info.owner_id, link.resumable_id)
        now = db_time(0)
        job_id = None
        try:
            async with self.db.write() as s:
                row = await s.get(WalkthroughUpload, upload_id, populate_existing=True)
                new_videos = False
                for link, info in found:
                    if link.resumable_id in already:
                        continue  # the same link again: step 5 may be retried
                    new_videos = True
                    # The title (the spec's "{filename}") is shown as the video's name and names it in
                    # processing errors: the naming rule's cleaning, as for the upload's name.
                    s.add(WalkthroughVideo(upload_id=upload_id, resumable_id=link.resumable_id, url=link.url,
                                           title=clean_text(link.title, NAME_CHARS),
                                           file_extension=link.file_extension,
                                           size=info.length or 0, blob_key=info.blob_key, created_at=now))
                unchanged = (not new_videos and row.job_id is not None and row.processing_status != FAILED
                             and (row.start_lat, row.start_lng, row.end_lat, row.end_lng) == (*start, *end)
                             and row.target_points_count == target_points_count)
                row.asset_type = asset_type
                row.start_lat, row.start_lng = start
                row.end_lat, row.end_lng = end
                row.target_points_count = target_points_count
                row.uploaded_by = uploaded_by or row.uploaded_by
                row.updated_at = now
                if not unchanged:  # a retried step 5 keeps the job it already queued (or finished)
                    row.processing_status = QUEUED
                    row.processing_error = None
                    # One job per (kind, subject) in the jobs table: each step 5 gets its own subject.
                    job_id = row.job_id = await add_job(s, PROCESS_KIND, f"{upload_id}:{new_id(8)}",
                                                        self.max_attempts)
        except IntegrityError:
            raise TusUploadAlreadyLinked("one of these uploads is linked to another upload object") from None
        linked = await self.get_upload(owner_id, upload_id)  # read before a worker can move it on
        if job_id is not None:
            await self.dispatch(job_id)
        return linked

    async def progress(self, row: WalkthroughUpload) -> int:
        """Processing progress 0..100: the job's own while it runs."""
        if row.processing_status == DONE:
            return 100
        if row.processing_status != PROCESSING or row.job_id is None:
            return 0
        async with self.db.read() as s:
            job = await s.get(Job, row.job_id)
        return int(100 * job.progress) if job is not None else 0

    async def points(self, owner_id: str, upload_id: int) -> tuple[UploadObject, list[WalkthroughPoint]]:
        """The upload object and its placed points (none until processing is done), in index order."""
        obj = await self.get_upload(owner_id, upload_id)
        if obj.row.processing_status != DONE:
            return obj, []
        async with self.db.read() as s:
            rows = await s.scalars(select(WalkthroughPoint).where(WalkthroughPoint.upload_id == upload_id)
                                   .order_by(WalkthroughPoint.index))
            return obj, list(rows)

    async def _find_upload(self, owners: list[str], link: VideoLink) -> ResumableInfo:
        for owner in owners:
            try:
                return await self.resumable.get(owner, link.resumable_id)
            except UploadNotFound:
                continue
            except UploadGone:
                break
        raise TusUploadNotFound(f"no finished upload at {link.url}")

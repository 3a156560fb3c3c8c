"""Creating projects from a finished upload session or a download link, and reading them back.

Creation is one transaction: the session is handed over (state `consumed`, it no longer expires),
the project row and its processing job are inserted together; the queue message goes out after the
commit, and the job sweep re-sends it should this process die in between.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from sqlalchemy import func, or_, select, update

from omnidrop.auth.quotas import Quotas
from omnidrop.db.clock import db_time
from omnidrop.db.engine import Database
from omnidrop.db.models import Project, ProjectFile, ShareLink, UploadFile, UploadSession
from omnidrop.jobs.dispatch import Dispatch
from omnidrop.jobs.store import add_job
from omnidrop.projects.errors import (
    InvalidDownloadLink,
    ProjectCreationFailed,
    ProjectNotFound,
    SourceAmbiguous,
    SourceRequired,
)
from omnidrop.uploads.errors import InvalidUploadId, SessionNotFound
from omnidrop.uploads.ids import is_valid_upload_id, new_id
from omnidrop.uploads.names import safe_filename

PROCESS_KIND = "project.process"
PUBLIC_PRIVACY_MODE = 0  # privacy_mode of a project that is public (has a share link) from the start
QUEUED, PROCESSING, READY, FAILED = "queued", "processing", "ready", "failed"


@dataclass(frozen=True)
class NewProject:
    upload_id: str | None = None
    download_link: str | None = None
    title: str | None = None
    privacy_mode: int | None = None
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectView:
    project: Project
    files: list[ProjectFile]


class ProjectService:
    def __init__(self, db: Database, quotas: Quotas, max_attempts: int, *, dispatch: Dispatch) -> None:
        self.db = db
        self.quotas = quotas
        self.max_attempts = max_attempts
        self.dispatch = dispatch

    async def create(self, owner_id: str, new: NewProject) -> Project:
        if not new.upload_id and not new.download_link:
            raise SourceRequired("give upload_id or download_link")
        if new.upload_id and new.download_link:
            raise SourceAmbiguous("give upload_id or download_link, not both")
        if new.download_link:
            check_link_syntax(new.download_link)
        elif not is_valid_upload_id(new.upload_id):
            raise InvalidUploadId(f"malformed upload_id {new.upload_id!r}")
        now = db_time(0)  # lists order by it: one clock for every node
        async with self.db.write() as s:
            await self.quotas.check(s, owner_id)
            if new.upload_id:
                files = await self._take_session(s, owner_id, new.upload_id)
                name = await self._free_name(s, new.upload_id)
                title = new.title or _title_from(files[0].name)
            else:
                name = await self._free_name(s, new_id(8))
                title = new.title or _title_from(_link_filename(new.download_link))
            project = Project(
                id=new_id(16), name=name, owner_id=owner_id, title=title, privacy_mode=new.privacy_mode,
                options=new.options, upload_session_id=new.upload_id, download_link=new.download_link,
                status=0, state=QUEUED, created_at=now, updated_at=now,
            )
            s.add(project)
            await s.flush()
            await s.refresh(project)  # the times the database gave it
            if new.privacy_mode == PUBLIC_PRIVACY_MODE:  # public: shared from the start (projects/shares.py)
                s.add(ShareLink(token=secrets.token_urlsafe(32), project_id=project.id, created_at=now))
            job_id = await add_job(s, PROCESS_KIND, project.id, self.max_attempts)
        await self.dispatch(job_id)
        return project

    async def get(self, owner_id: str, name: str) -> ProjectView:
        async with self.db.read() as s:
            project = (
                await s.execute(select(Project).where(Project.name == name, Project.owner_id == owner_id))
            ).scalar_one_or_none()
            if project is None:
                raise ProjectNotFound(f"no project {name!r}")
            files = (
                await s.scalars(select(ProjectFile).where(ProjectFile.project_id == project.id).order_by(ProjectFile.id))
            ).all()
            return ProjectView(project, list(files))

    async def list_recent(self, owner_id: str, limit: int, offset: int,
                          search: str | None = None) -> list[tuple[Project, int, int]]:
        """The owner's projects, newest first, each with its file count and total size (the web app's
        list). `search` keeps those whose title or name contains it (case-insensitive)."""
        totals = (
            select(ProjectFile.project_id, func.count(ProjectFile.id).label("files"),
                   func.coalesce(func.sum(ProjectFile.size), 0).label("size"))
            .group_by(ProjectFile.project_id).subquery()
        )
        query = (
            select(Project, func.coalesce(totals.c.files, 0), func.coalesce(totals.c.size, 0))
            .outerjoin(totals, totals.c.project_id == Project.id).where(Project.owner_id == owner_id)
        )
        if search:
            pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(or_(Project.title.ilike(pattern, escape="\\"), Project.name.ilike(pattern, escape="\\")))
        async with self.db.read() as s:
            rows = (await s.execute(query.order_by(Project.created_at.desc(), Project.id).limit(limit).offset(offset))).all()
            return [(p, int(files), int(size)) for p, files, size in rows]

    async def _take_session(self, s, owner_id: str, upload_id: str) -> list[UploadFile]:
        session = (
            await s.execute(
                select(UploadSession).where(
                    UploadSession.id == upload_id, UploadSession.owner_id == owner_id,
                    UploadSession.state == "open", UploadSession.expires_at > db_time(0),  # the database's clock
                ).with_for_update()
            )
        ).scalar_one_or_none()
        if session is None:
            raise SessionNotFound(f"no upload session {upload_id!r}")
        files = (await s.scalars(select(UploadFile).where(UploadFile.session_id == upload_id).order_by(UploadFile.id))).all()
        if not files:
            raise ProjectCreationFailed("the upload session holds no files")
        unfinished = [f.name for f in files if not f.complete]
        if unfinished:
            raise ProjectCreationFailed(f"not fully uploaded yet: {', '.join(unfinished)}", files=unfinished)
        # Conditional, so two concurrent requests cannot both take the session.
        taken = await s.execute(
            update(UploadSession).where(UploadSession.id == upload_id, UploadSession.state == "open")
            .values(state="consumed", expires_at=None)
        )
        if taken.rowcount != 1:
            raise SessionNotFound(f"no upload session {upload_id!r}")
        return list(files)

    @staticmethod
    async def _free_name(s, wanted: str) -> str:
        """The slug is the upload_id unless a project already has it (a rare collision)."""
        name = wanted
        while await s.scalar(select(Project.id).where(Project.name == name)):
            name = f"{wanted}-{new_id(4)}"
        return name


def check_link_syntax(link: str) -> None:
    try:  # urlsplit raises on a broken IPv6 literal (`http://[::1`), .port on a port out of range
        parts = urlsplit(link)
        parts.port  # noqa: B018 - read for its check
    except ValueError as exc:
        raise InvalidDownloadLink(f"download_link is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidDownloadLink("download_link must be an http(s) URL with a host")
    if parts.username or parts.password:
        raise InvalidDownloadLink("download_link must not carry credentials")


def _link_filename(link: str) -> str:
    return safe_filename(PurePosixPath(unquote(urlsplit(link).path)).name, fallback="download")


def _title_from(filename: str) -> str:
    stem = PurePosixPath(filename).stem.replace("_", " ").replace("-", " ").strip()
    return stem or f"Project {datetime.now().date().isoformat()}"

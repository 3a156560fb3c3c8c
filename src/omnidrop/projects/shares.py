"""Share links: read-only links to a project, or to one file of it, that open without a key.

A link is a random token (32 bytes, URL-safe: unguessable); whoever holds it sees the project's
title, files, assets and tour, and nothing else of the owner (no source, options, other projects).
It stops working when the owner revokes it or when it expires; both are judged by the database's
clock (db/clock.py), and a revoked, expired or unknown token all answer the same `share_not_found`.

A project created with `privacy_mode` 0 (public) gets a link with no expiry when it is created
(ProjectService.create); any other value, or none, leaves it private until its owner shares it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import insert, or_, select, update

from omnidrop.db.clock import db_time
from omnidrop.db.engine import Database
from omnidrop.db.models import Project, ProjectFile, ShareLink
from omnidrop.projects.errors import InvalidShare, ProjectNotFound, ShareNotFound
from omnidrop.projects.service import PUBLIC_PRIVACY_MODE, ProjectView
from omnidrop.uploads.errors import FileNotFound

MAX_EXPIRY_SECONDS = 10 * 365 * 24 * 3600  # ten years: longer is "no expiry"


def new_token() -> str:
    return secrets.token_urlsafe(32)


__all__ = ["PUBLIC_PRIVACY_MODE", "ShareService", "SharedView", "new_token"]


def looks_like_token(token: str) -> bool:
    return 20 <= len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token)


@dataclass(frozen=True)
class SharedView:
    share: ShareLink
    view: ProjectView  # files: only the shared one for a file link


def _active():
    return (ShareLink.revoked_at.is_(None), or_(ShareLink.expires_at.is_(None), ShareLink.expires_at > db_time()))


class ShareService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _project(self, s, owner_id: str, name: str) -> Project:
        project = (await s.execute(select(Project).where(Project.name == name, Project.owner_id == owner_id))
                   ).scalar_one_or_none()
        if project is None:
            raise ProjectNotFound(f"no project {name!r}")
        return project

    async def create(self, owner_id: str, name: str, file_name: str | None = None,
                     expires_in: int | None = None) -> ShareLink:
        if expires_in is not None and not (1 <= expires_in <= MAX_EXPIRY_SECONDS):
            raise InvalidShare(f"expires_in_seconds must be 1..{MAX_EXPIRY_SECONDS}")
        token = new_token()
        async with self.db.write() as s:
            project = await self._project(s, owner_id, name)
            if file_name is not None:
                found = await s.scalar(select(ProjectFile.id).where(ProjectFile.project_id == project.id,
                                                                    ProjectFile.name == file_name))
                if found is None:
                    raise FileNotFound(f"no file {file_name!r} in project {name!r}")
            await s.execute(insert(ShareLink).values(
                token=token, project_id=project.id, file_name=file_name, created_at=db_time(),
                expires_at=db_time(expires_in) if expires_in is not None else None))
            return (await s.execute(select(ShareLink).where(ShareLink.token == token))).scalar_one()

    async def list(self, owner_id: str, name: str) -> list[tuple[ShareLink, bool]]:
        """Every link of the project, newest first, each with whether it still opens."""
        async with self.db.read() as s:
            project = await self._project(s, owner_id, name)
            rows = (await s.scalars(select(ShareLink).where(ShareLink.project_id == project.id)
                                    .order_by(ShareLink.created_at.desc(), ShareLink.token))).all()
            live = set((await s.scalars(select(ShareLink.token).where(ShareLink.project_id == project.id,
                                                                      *_active()))).all())
            return [(row, row.token in live) for row in rows]

    async def revoke(self, owner_id: str, name: str, token: str) -> None:
        """Idempotent: revoking a revoked link is fine; an unknown one (or another project's) is not."""
        async with self.db.write() as s:
            project = await self._project(s, owner_id, name)
            exists = await s.scalar(select(ShareLink.token).where(ShareLink.token == token,
                                                                  ShareLink.project_id == project.id))
            if exists is None:
                raise ShareNotFound("no such share link in this project")
            await s.execute(update(ShareLink).where(ShareLink.token == token, ShareLink.revoked_at.is_(None))
                            .values(revoked_at=db_time()))

    async def open(self, token: str) -> SharedView:
        if not looks_like_token(token):
            raise ShareNotFound("no such share link")
        async with self.db.read() as s:
            row = (await s.execute(select(ShareLink, Project).join(Project, Project.id == ShareLink.project_id)
                                   .where(ShareLink.token == token, *_active()))).one_or_none()
            if row is None:
                raise ShareNotFound("no such share link, or it was revoked or has expired")
            share, project = row
            query = select(ProjectFile).where(ProjectFile.project_id == project.id)
            if share.file_name is not None:
                query = query.where(ProjectFile.name == share.file_name)
            files = (await s.scalars(query.order_by(ProjectFile.id))).all()
            return SharedView(share, ProjectView(project, list(files)))

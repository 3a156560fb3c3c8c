"""Per-owner plans: a storage quota (bytes) and a switch that forbids uploads.

Usage counts every stored byte an owner is responsible for: files in upload sessions (open or
handed to a project) and the files projects derived from them (unpacked archives, downloads).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import EllipsisType

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omnidrop.db.engine import Database
from omnidrop.db.models import Owner, Project, ProjectFile, UploadFile, UploadSession
from omnidrop.db.types import utcnow
from omnidrop.uploads.errors import StorageQuotaExceeded, TariffForbidsUpload
from omnidrop.uploads.ids import new_id


@dataclass(frozen=True)
class Plan:
    owner: str
    quota_bytes: int | None
    uploads_forbidden: bool
    used_bytes: int


async def used_bytes(s: AsyncSession, owner_id: str, *, except_project: str | None = None) -> int:
    """Bytes the owner holds; `except_project` leaves out the files that project derived (a job
    re-running it will write them again, over the same keys)."""
    uploaded = await s.scalar(
        select(func.coalesce(func.sum(UploadFile.total), 0))
        .join(UploadSession, UploadFile.session_id == UploadSession.id)
        .where(UploadSession.owner_id == owner_id, UploadSession.state != "deleting")
    )
    derived_files = (
        select(func.coalesce(func.sum(ProjectFile.size), 0))
        .join(Project, ProjectFile.project_id == Project.id)
        .where(Project.owner_id == owner_id, ProjectFile.blob_key.like("projects/%"))
    )
    if except_project is not None:
        derived_files = derived_files.where(Project.id != except_project)
    derived = await s.scalar(derived_files)
    return int(uploaded) + int(derived)


class QuotaExceeded(Exception):
    """A job's writes would pass the owner's storage quota (see QuotaMeter)."""

    code = "storage_quota_exceeded"

    def __init__(self, limit: int, used: int, wanted: int) -> None:
        super().__init__(f"the storage quota of {limit} bytes would be passed: {used} bytes were in use "
                         f"and this would store at least {wanted} more")
        self.limit, self.used, self.wanted = limit, used, wanted


class QuotaMeter:
    """The bytes a job may still store for an owner, counted as they are written.

    A job charges every block before writing it and refunds what it removes again; a charge past
    the quota raises QuotaExceeded, before that block reaches storage. Not thread-safe: one job,
    one meter, one writer at a time (a job handing work to a thread charges from there only).
    """

    def __init__(self, limit: int | None, used: int) -> None:
        self.limit, self.used = limit, used
        self.charged = 0

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used - self.charged)

    def charge(self, nbytes: int) -> None:
        if self.limit is not None and self.used + self.charged + nbytes > self.limit:
            raise QuotaExceeded(self.limit, self.used, self.charged + nbytes)
        self.charged += nbytes

    def refund(self, nbytes: int) -> None:
        self.charged = max(0, self.charged - nbytes)


class Quotas:
    def __init__(self, default_quota_bytes: int | None) -> None:
        self.default_quota_bytes = default_quota_bytes

    async def check(self, s: AsyncSession, owner_id: str, extra_bytes: int = 0) -> None:
        """Refuse when the plan forbids uploads, or when `extra_bytes` more would pass the quota
        (with no extra bytes: when the quota is already used up)."""
        owner = await s.get(Owner, owner_id)
        if owner is None:
            return
        if owner.uploads_forbidden:
            raise TariffForbidsUpload("this account's plan does not allow uploads")
        quota = self.limit_of(owner)
        if quota is None:
            return
        used = await used_bytes(s, owner_id)
        if used + extra_bytes > quota or (extra_bytes == 0 and used >= quota):
            raise StorageQuotaExceeded(quota, used)

    def limit_of(self, owner: Owner | None) -> int | None:
        if owner is None:
            return None
        return owner.storage_quota_bytes if owner.storage_quota_bytes is not None else self.default_quota_bytes

    async def meter(self, s: AsyncSession, owner_id: str, *, project_id: str | None = None) -> QuotaMeter:
        """A meter for a job storing derived files for `owner_id` (for `project_id`: its own earlier
        outputs are not counted, the job overwrites them)."""
        limit = self.limit_of(await s.get(Owner, owner_id))
        used = 0 if limit is None else await used_bytes(s, owner_id, except_project=project_id)
        return QuotaMeter(limit, used)


async def set_plan(db: Database, name: str, quota_bytes: int | None | EllipsisType,
                   uploads_forbidden: bool | None) -> Plan:
    """`...` leaves the quota as it is; None clears it (back to the server default)."""
    async with db.write() as s:
        owner = (await s.execute(select(Owner).where(Owner.name == name))).scalar_one_or_none()
        if owner is None:
            owner = Owner(id=new_id(16), name=name, created_at=utcnow(), uploads_forbidden=False)
            s.add(owner)
            await s.flush()
        if quota_bytes is not ...:
            owner.storage_quota_bytes = quota_bytes
        if uploads_forbidden is not None:
            owner.uploads_forbidden = uploads_forbidden
        return Plan(name, owner.storage_quota_bytes, owner.uploads_forbidden, await used_bytes(s, owner.id))


async def list_plans(db: Database) -> list[Plan]:
    async with db.read() as s:
        owners = (await s.scalars(select(Owner).order_by(Owner.name))).all()
        return [Plan(o.name, o.storage_quota_bytes, o.uploads_forbidden, await used_bytes(s, o.id)) for o in owners]

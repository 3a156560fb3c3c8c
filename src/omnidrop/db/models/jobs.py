"""Background jobs. The queue only dispatches; the truth about a job lives here (migration 0002)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidrop.db.models.base import Base
from omnidrop.db.types import UTCDateTime


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    # Which workers run it: "default" (all of them) or a named queue (e.g. "gpu": `omnidrop worker --queue gpu`).
    queue: Mapped[str] = mapped_column(String(32), default="default", server_default="default")
    subject_id: Mapped[str] = mapped_column(String(64))  # what the job works on, e.g. a project id
    # queued -> running -> done | failed; a running job whose lease lapsed is queued again by the sweep.
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("kind", "subject_id", name="uq_jobs_kind_subject"),
        Index("ix_jobs_state_lease", "state", "lease_expires"),
    )

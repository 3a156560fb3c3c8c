"""What lets any worker do the cluster's chores: round leases (who runs the sweep or the reaper this
round) and the outbox of upload events (migration 0009)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from omnidrop.db.models.base import Base
from omnidrop.db.types import UTCDateTime


class ClusterRound(Base):
    """One row per periodic chore. Whoever moves `until` forward (a conditional UPDATE on the database's
    clock) runs that round; a holder that dies simply lets `until` pass."""

    __tablename__ = "cluster_rounds"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxEvent(Base):
    """An upload event waiting for one sink (`webhook`, `tus_links`). Inserted in the transaction that
    made the change it reports, so it exists exactly when the change does; workers deliver it at least
    once and delete it."""

    __tablename__ = "outbox_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sink: Mapped[str] = mapped_column(String(32))
    upload_id: Mapped[str] = mapped_column(String(64))  # one upload's events reach a sink in order
    payload: Mapped[dict] = mapped_column(JSON)  # UploadEvent.as_dict()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # not before: the retry backoff
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claim_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_outbox_events_sink_upload", "sink", "upload_id"),)

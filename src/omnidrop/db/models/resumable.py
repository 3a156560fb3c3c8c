"""Resumable uploads spoken over tus 1.0.0 and the IETF draft (migration 0003).

Each one is an upload session holding one file, so leases, durability, expiry and the reaper are the
core's. This row adds what the protocols need and outlives the session as a tombstone, so a request
for an expired or terminated upload gets 410 rather than 404.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from omnidrop.db.models.base import Base
from omnidrop.db.types import UTCDateTime


class ResumableUpload(Base):
    __tablename__ = "resumable_uploads"
    # The upload session's id, also the last segment of the upload URL. No foreign key: the row must
    # survive the session's deletion.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(32), index=True)
    # active: accepting bytes; finished: all bytes durable; terminated / expired: tombstones.
    state: Mapped[str] = mapped_column(String(16), default="active")
    # tus Upload-Metadata as decoded {key: value-or-None}.
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    # "" plain, "partial" or "final" (tus concatenation); a final upload lists its parts in order.
    concat: Mapped[str] = mapped_column(String(8), default="")
    parts: Mapped[str] = mapped_column(Text, default="")  # space-separated upload ids
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_resumable_uploads_state_ended", "state", "ended_at"),)

"""Owners, API keys, upload sessions and their files (migration 0001)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidrop.db.models.base import Base
from omnidrop.db.types import UTCDateTime


class Owner(Base):
    """Whoever holds keys and owns uploads: a person or an organisation."""

    __tablename__ = "owners"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Plan settings (migration 0002): bytes allowed in total (None = the server default), and a
    # switch that forbids new uploads and projects.
    storage_quota_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    uploads_forbidden: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # sha256 of the whole token: keys are 190 bits of randomness, so a fast hash is enough.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str] = mapped_column(Text)  # space-separated
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class UploadSession(Base):
    """A group of files uploaded together; a project is later made from one session."""

    __tablename__ = "upload_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    # open: accepting files; consumed: handed to a project (no longer expires).
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_upload_sessions_state_expires", "state", "expires_at"),)


class UploadFile(Base):
    __tablename__ = "upload_files"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("upload_sessions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    blob_key: Mapped[str] = mapped_column(String(512))
    total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # None: deferred (tus), migration 0003
    # The acknowledged, durable prefix: never more than what the blob store holds.
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The single-writer lease: who writes now and until when, unless renewed.
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Fencing (migration 0009): bumped by every claim, so a writer whose lease was taken over is told
    # apart from the one holding it now (uploads/leases.py).
    lease_epoch: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Writers of epochs below this one may still be running: a claim that took a lease over (rather
    # than finding it given back) raises it to its own epoch. Stores keep such writers' files unread.
    fence_epoch: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Numbers handed out under the lease, never twice (S3 part numbers, tail keys): a writer that wakes
    # after a takeover can only write where nothing reads (uploads/fence.py).
    store_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The store's own record of an unfinished blob (which parts make it), committed with `received`.
    store_state: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (UniqueConstraint("session_id", "name", name="uq_upload_files_session_name"),)

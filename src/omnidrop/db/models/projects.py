"""Projects made from an upload session or a download link, and the files they hold (migration 0002)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidrop.db.models.base import Base
from omnidrop.db.types import UTCDateTime


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The URL slug clients poll; usually the upload_id it was made from.
    name: Mapped[str] = mapped_column(String(80), unique=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    privacy_mode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    options: Mapped[dict] = mapped_column(JSON, default=dict)  # the other optional processing fields, as sent
    upload_session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    download_link: Mapped[str | None] = mapped_column(Text, nullable=True)
    # 0 queued, 1..99 processing, 100 ready. `state` says the same in words, plus `failed`.
    status: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Archive entries not unpacked (extension not allowed): [{"entry", "error", "message"}] (migration 0009).
    refused_entries: Mapped[list | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The project's 360 tour, when it has panoramas: {"key", "nodes", "ordered_by", "gps"} (migration 0013).
    tour: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class ProjectFile(Base):
    __tablename__ = "project_files"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    # Where it came from: the uploaded file's name, or `archive.zip:inner/path.jpg`.
    origin: Mapped[str] = mapped_column(Text)
    blob_key: Mapped[str] = mapped_column(String(512))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    mime: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    # Derived assets by role, e.g. {"thumbnail": "projects/<id>/thumbs/x.jpg"}.
    assets: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_project_files_project_name"),)


class ShareLink(Base):
    """A read-only link to a project (or one of its files) that opens without a key (migration 0013).

    The token is the link: 32 random bytes, URL-safe. It stops working when revoked or past
    `expires_at` (both compared with the database's clock)."""

    __tablename__ = "share_links"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    file_name: Mapped[str | None] = mapped_column(String(255), nullable=True)  # None: the whole project
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

"""Direct video uploads (specs/direct-video-upload-api.md): groups of role-tagged files, library entries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from omnidrop.db.models.base import Base
from omnidrop.db.types import UTCDateTime


class VideoUploadGroup(Base):
    __tablename__ = "video_upload_groups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    title: Mapped[str | None] = mapped_column(String(500), nullable=True)
    layout: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), index=True)  # uploading | completed | cancelled | expired
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class VideoUploadFile(Base):
    __tablename__ = "video_upload_files"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("video_upload_groups.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str | None] = mapped_column(String(128), nullable=True)
    part_size: Mapped[int] = mapped_column(BigInteger)
    part_count: Mapped[int] = mapped_column(Integer)
    multipart_id: Mapped[str] = mapped_column(ForeignKey("multipart_uploads.id"))
    state: Mapped[str] = mapped_column(String(16))  # pending | completed
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class VideoLibraryEntry(Base):
    """Made once every file of a group is complete."""

    __tablename__ = "video_library"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("video_upload_groups.id", ondelete="CASCADE"), unique=True)
    title: Mapped[str | None] = mapped_column(String(500), nullable=True)
    layout: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The video.verify job (migration 0007): pending -> verifying -> verified | unverified | failed, with
    # the first problem's code (or unchecked_aime) and every problem in the message, and what probing
    # found per file. 'unverified' with no code: the entry predates verification.
    verification_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    verification_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    verification_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    verification: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

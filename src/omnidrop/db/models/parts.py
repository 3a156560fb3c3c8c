"""The presigned-parts ledger: multipart uploads and the parts (number, size, ETag) omnidrop knows of."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from omnidrop.db.models.base import Base
from omnidrop.db.types import UTCDateTime


class MultipartUpload(Base):
    __tablename__ = "multipart_uploads"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(512))  # the blob it becomes
    store_upload_id: Mapped[str] = mapped_column(String(1024))  # the blob store's own upload id
    state: Mapped[str] = mapped_column(String(16))  # open | completed | aborted
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    etag: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MultipartPart(Base):
    __tablename__ = "multipart_parts"
    upload_id: Mapped[str] = mapped_column(ForeignKey("multipart_uploads.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

"""Captures for gaussian splatting (specs/captures-api.md): one input file uploaded in S3-style parts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from omnidrop.db.models.base import Base
from omnidrop.db.types import UTCDateTime


class Capture(Base):
    __tablename__ = "captures"
    eid: Mapped[str] = mapped_column(String(36), primary_key=True)
    sid: Mapped[str | None] = mapped_column(String(36), unique=True, nullable=True)  # share id, once uploaded
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    bytesize: Mapped[int] = mapped_column(BigInteger)
    input_data_format: Mapped[str] = mapped_column(String(32))
    num_frames: Mapped[int | None] = mapped_column(Integer, nullable=True)
    guided_mode: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    ios_app_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    training_parameters: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # CREATED -> UPLOADED (queued for processing) -> PROCESSING -> FINISHED | FAILED
    state: Mapped[str] = mapped_column(String(16))
    state_description: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_reason_slug: Mapped[str | None] = mapped_column(String(64), nullable=True)
    chunk_size: Mapped[int] = mapped_column(BigInteger)
    num_parts: Mapped[int] = mapped_column(Integer)
    multipart_id: Mapped[str] = mapped_column(ForeignKey("multipart_uploads.id"))
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    # What processing produced: {"models": [...], "cameras": [...], ...}; read by /share/{sid}/metadata.
    outputs: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

"""Vehicles and their 360 videos (specs/vehicles-360-video-api.md): frames and damage masks hang off them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidrop.db.models.base import Base
from omnidrop.db.types import UTCDateTime


class Vehicle(Base):
    """The client's vehicle UUID, per owner (two owners may use the same UUID without meeting)."""

    __tablename__ = "vehicles"
    __table_args__ = (UniqueConstraint("owner_id", "uuid"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    uuid: Mapped[str] = mapped_column(String(36))
    name: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VehicleVideo(Base):
    """One uploaded side video and its frames job (`job_id` is what the API hands out)."""

    __tablename__ = "vehicle_videos"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    vehicle_id: Mapped[str] = mapped_column(ForeignKey("vehicles.id", ondelete="CASCADE"), index=True)
    side: Mapped[str] = mapped_column(String(8))
    job_id: Mapped[str] = mapped_column(String(32), unique=True)
    blob_key: Mapped[str | None] = mapped_column(String(1024), nullable=True)  # None once cleaned up
    original_filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    mime_type: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))  # queued | processing | ready | failed
    frame_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    frames_prefix: Mapped[str] = mapped_column(String(1024))
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Stretches of the video the decoder refused and extraction skipped: [{"start", "end", "packets"}]
    decode_skipped: Mapped[list | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class VehicleMask(Base):
    """Damage found on one frame: by the configured detector, or imported from elsewhere."""

    __tablename__ = "vehicle_masks"
    __table_args__ = (UniqueConstraint("video_id", "frame"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
    video_id: Mapped[str] = mapped_column(ForeignKey("vehicle_videos.id", ondelete="CASCADE"), index=True)
    frame: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # detector | imported
    detections: Mapped[list] = mapped_column(JSON)  # [{"class", "score", "polygons": [[[x, y], …]]}]
    overlay_key: Mapped[str] = mapped_column(String(1024))
    json_key: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

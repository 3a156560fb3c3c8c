"""360 walkthroughs: projects, drawings (floor plans), upload objects and their videos (migration 0003),
and the points the walkthrough job places along the walk (migration 0006)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omnidrop.db.models.base import Base
from omnidrop.db.types import UTCDateTime

AUTO_ID = BigInteger().with_variant(Integer(), "sqlite")


def project_key(owner_id: str, slug: str) -> str:
    """The key of an owner's walkthrough project: each owner has its own slugs (migration 0009)."""
    return f"{owner_id}:{slug}"


def project_slug(key: str) -> str:
    """The dashboard's id of a project key, as the API shows it (a slug holds no ':')."""
    return key.rsplit(":", 1)[-1]


class WalkthroughProject(Base):
    __tablename__ = "walkthrough_projects"
    # `<owner_id>:<slug>` (project_key), the slug being the dashboard's id, e.g. "evercam": unique per
    # owner, so another owner neither sees nor blocks it.
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def slug(self) -> str:
        return project_slug(self.id)


class Drawing(Base):
    """A floor plan: an image and the geographic box it covers."""

    __tablename__ = "walkthrough_drawings"
    id: Mapped[int] = mapped_column(AUTO_ID, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("walkthrough_projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    north: Mapped[float] = mapped_column(Float)
    south: Mapped[float] = mapped_column(Float)
    east: Mapped[float] = mapped_column(Float)
    west: Mapped[float] = mapped_column(Float)
    image_key: Mapped[str | None] = mapped_column(String(512), nullable=True)
    image_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WalkthroughUpload(Base):
    """The spec's "upload object": one walkthrough capture on one drawing."""

    __tablename__ = "walkthrough_uploads"
    id: Mapped[int] = mapped_column(AUTO_ID, primary_key=True, autoincrement=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("walkthrough_projects.id", ondelete="CASCADE"), index=True)
    floor_id: Mapped[int] = mapped_column(ForeignKey("walkthrough_drawings.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    date: Mapped[date] = mapped_column(Date)
    # created -> queued (videos linked, waiting for the pipeline) -> processing -> done | failed
    processing_status: Mapped[str] = mapped_column(String(16), default="created")
    uploaded_by: Mapped[str] = mapped_column(String(320))
    is_timelapse: Mapped[bool] = mapped_column(Boolean, default=False)
    asset_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    start_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    start_lng: Mapped[float | None] = mapped_column(Float, nullable=True)
    end_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    end_lng: Mapped[float | None] = mapped_column(Float, nullable=True)
    target_points_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The walkthrough job queued by the latest step 5; an older job that wakes up later stands down.
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Why processing failed, "<code>: <reason>" (processing_status "failed").
    processing_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    inserted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WalkthroughTusLink(Base):
    """A resumable upload announced for an upload object (metadata `walkthrough_upload_id`), kept in step
    with the upload's events: created -> uploading, finished -> finished, terminated -> gone."""

    __tablename__ = "walkthrough_tus_links"
    id: Mapped[int] = mapped_column(AUTO_ID, primary_key=True, autoincrement=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("walkthrough_uploads.id", ondelete="CASCADE"), index=True)
    resumable_id: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WalkthroughVideo(Base):
    """A finished resumable upload linked to an upload object (step 5)."""

    __tablename__ = "walkthrough_videos"
    id: Mapped[int] = mapped_column(AUTO_ID, primary_key=True, autoincrement=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("walkthrough_uploads.id", ondelete="CASCADE"), index=True)
    resumable_id: Mapped[str] = mapped_column(String(64), unique=True)  # one video, one upload object
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(String(300))
    file_extension: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInteger)
    blob_key: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WalkthroughPoint(Base):
    """One panorama of a processed walkthrough: when in the video, where on the map and on the drawing."""

    __tablename__ = "walkthrough_points"
    __table_args__ = (UniqueConstraint("upload_id", "index"),)
    id: Mapped[int] = mapped_column(AUTO_ID, primary_key=True, autoincrement=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("walkthrough_uploads.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)  # 0-based, in time order
    time_seconds: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    x: Mapped[float | None] = mapped_column(Float, nullable=True)  # 0..1 across the drawing, from its bounds
    y: Mapped[float | None] = mapped_column(Float, nullable=True)  # 0..1 down the drawing
    source: Mapped[str] = mapped_column(String(16))  # "interpolated" | "gps"
    blob_key: Mapped[str] = mapped_column(String(512))  # the equirectangular JPEG
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

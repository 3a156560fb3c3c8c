"""Vehicles, their 360 side videos (frames jobs) and damage masks.

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from omnidrop.db.types import UTCDateTime

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vehicles",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner_id", sa.String(32), sa.ForeignKey("owners.id", ondelete="CASCADE"), nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.String(500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("owner_id", "uuid"),
    )
    op.create_index("ix_vehicles_owner_id", "vehicles", ["owner_id"])
    op.create_table(
        "vehicle_videos",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("vehicle_id", sa.String(32), sa.ForeignKey("vehicles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("job_id", sa.String(32), nullable=False, unique=True),
        sa.Column("blob_key", sa.String(1024), nullable=True),
        sa.Column("original_filename", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mime_type", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("frame_count", sa.Integer(), nullable=True),
        sa.Column("frames_prefix", sa.String(1024), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_vehicle_videos_vehicle_id", "vehicle_videos", ["vehicle_id"])
    op.create_index("ix_vehicle_videos_created_at", "vehicle_videos", ["created_at"])
    op.create_table(
        "vehicle_masks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("video_id", sa.String(32), sa.ForeignKey("vehicle_videos.id", ondelete="CASCADE"), nullable=False),
        sa.Column("frame", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("detections", sa.JSON(), nullable=False),
        sa.Column("overlay_key", sa.String(1024), nullable=False),
        sa.Column("json_key", sa.String(1024), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("video_id", "frame"),
    )
    op.create_index("ix_vehicle_masks_video_id", "vehicle_masks", ["video_id"])


def downgrade() -> None:
    op.drop_table("vehicle_masks")
    op.drop_table("vehicle_videos")
    op.drop_table("vehicles")

"""Walkthrough processing: the points placed along a walk, and the job and error of an upload object.

Revision ID: 0006_walkthrough_points
Revises: 0005, 0003 (whose walkthrough tables it needs)
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from omnidrop.db.types import UTCDateTime

revision = "0006_walkthrough_points"
down_revision = ("0005", "0003")  # a parent, not depends_on: see 0008_merge_heads
branch_labels = None
depends_on = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("walkthrough_uploads") as batch:
        batch.add_column(sa.Column("job_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("processing_error", sa.Text(), nullable=True))
    op.create_table(
        "walkthrough_points",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("upload_id", AUTO_ID, sa.ForeignKey("walkthrough_uploads.id", ondelete="CASCADE"), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("time_seconds", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lng", sa.Float(), nullable=False),
        sa.Column("x", sa.Float(), nullable=True),
        sa.Column("y", sa.Float(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("blob_key", sa.String(512), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("upload_id", "index"),
    )
    op.create_index("ix_walkthrough_points_upload_id", "walkthrough_points", ["upload_id"])


def downgrade() -> None:
    op.drop_table("walkthrough_points")
    with op.batch_alter_table("walkthrough_uploads") as batch:
        batch.drop_column("processing_error")
        batch.drop_column("job_id")

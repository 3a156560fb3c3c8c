"""Resumable uploads (tus, IETF draft), users and login tokens, 360 walkthroughs.

Also makes upload_files.total nullable: a tus upload may defer its length.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from omnidrop.db.types import UTCDateTime

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("upload_files") as batch:
        batch.alter_column("total", existing_type=sa.BigInteger(), nullable=True)

    op.create_table(
        "resumable_uploads",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner_id", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("concat", sa.String(8), nullable=False),
        sa.Column("parts", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_resumable_uploads_owner_id", "resumable_uploads", ["owner_id"])
    op.create_index("ix_resumable_uploads_state_ended", "resumable_uploads", ["state", "ended_at"])

    op.create_table(
        "users",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner_id", sa.String(32), sa.ForeignKey("owners.id", ondelete="CASCADE"), nullable=False),
        sa.Column("username", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("disabled_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_users_owner_id", "users", ["owner_id"])
    op.create_table(
        "login_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_login_tokens_user_id", "login_tokens", ["user_id"])
    op.create_index("ix_login_tokens_expires_at", "login_tokens", ["expires_at"])

    op.create_table(
        "walkthrough_projects",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner_id", sa.String(32), sa.ForeignKey("owners.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_walkthrough_projects_owner_id", "walkthrough_projects", ["owner_id"])
    op.create_table(
        "walkthrough_drawings",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.String(64), sa.ForeignKey("walkthrough_projects.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("north", sa.Float(), nullable=False),
        sa.Column("south", sa.Float(), nullable=False),
        sa.Column("east", sa.Float(), nullable=False),
        sa.Column("west", sa.Float(), nullable=False),
        sa.Column("image_key", sa.String(512), nullable=True),
        sa.Column("image_type", sa.String(100), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_walkthrough_drawings_project_id", "walkthrough_drawings", ["project_id"])
    op.create_table(
        "walkthrough_uploads",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("owner_id", sa.String(32), sa.ForeignKey("owners.id", ondelete="CASCADE"), nullable=False),
        sa.Column("project_id", sa.String(64), sa.ForeignKey("walkthrough_projects.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("floor_id", AUTO_ID, sa.ForeignKey("walkthrough_drawings.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("processing_status", sa.String(16), nullable=False),
        sa.Column("uploaded_by", sa.String(320), nullable=False),
        sa.Column("is_timelapse", sa.Boolean(), nullable=False),
        sa.Column("asset_type", sa.String(16), nullable=True),
        sa.Column("start_lat", sa.Float(), nullable=True),
        sa.Column("start_lng", sa.Float(), nullable=True),
        sa.Column("end_lat", sa.Float(), nullable=True),
        sa.Column("end_lng", sa.Float(), nullable=True),
        sa.Column("target_points_count", sa.Integer(), nullable=True),
        sa.Column("inserted_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_walkthrough_uploads_owner_id", "walkthrough_uploads", ["owner_id"])
    op.create_index("ix_walkthrough_uploads_project_id", "walkthrough_uploads", ["project_id"])
    op.create_table(
        "walkthrough_videos",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("upload_id", AUTO_ID, sa.ForeignKey("walkthrough_uploads.id", ondelete="CASCADE"), nullable=False),
        sa.Column("resumable_id", sa.String(64), nullable=False, unique=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("file_extension", sa.String(16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("blob_key", sa.String(512), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_walkthrough_videos_upload_id", "walkthrough_videos", ["upload_id"])
    op.create_table(
        "walkthrough_tus_links",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("upload_id", AUTO_ID, sa.ForeignKey("walkthrough_uploads.id", ondelete="CASCADE"), nullable=False),
        sa.Column("resumable_id", sa.String(64), nullable=False, unique=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_walkthrough_tus_links_upload_id", "walkthrough_tus_links", ["upload_id"])


def downgrade() -> None:
    op.drop_table("walkthrough_tus_links")
    op.drop_table("walkthrough_videos")
    op.drop_table("walkthrough_uploads")
    op.drop_table("walkthrough_drawings")
    op.drop_table("walkthrough_projects")
    op.drop_table("login_tokens")
    op.drop_table("users")
    op.drop_table("resumable_uploads")
    with op.batch_alter_table("upload_files") as batch:
        batch.alter_column("total", existing_type=sa.BigInteger(), nullable=False)

"""Presigned-parts ledger, captures, direct video upload groups and the video library.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from omnidrop.db.types import UTCDateTime

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def _owner() -> sa.Column:
    return sa.Column("owner_id", sa.String(32), sa.ForeignKey("owners.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "multipart_uploads",
        sa.Column("id", sa.String(32), primary_key=True),
        _owner(),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("store_upload_id", sa.String(1024), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("etag", sa.String(80), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_multipart_uploads_owner_id", "multipart_uploads", ["owner_id"])
    op.create_table(
        "multipart_parts",
        sa.Column(
            "upload_id", sa.String(32), sa.ForeignKey("multipart_uploads.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("number", sa.Integer(), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(80), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "captures",
        sa.Column("eid", sa.String(36), primary_key=True),
        sa.Column("sid", sa.String(36), nullable=True, unique=True),
        _owner(),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("bytesize", sa.BigInteger(), nullable=False),
        sa.Column("input_data_format", sa.String(32), nullable=False),
        sa.Column("num_frames", sa.Integer(), nullable=True),
        sa.Column("guided_mode", sa.Boolean(), nullable=True),
        sa.Column("ios_app_version", sa.String(64), nullable=True),
        sa.Column("training_parameters", sa.JSON(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_description", sa.Text(), nullable=True),
        sa.Column("error_reason", sa.String(64), nullable=True),
        sa.Column("error_reason_slug", sa.String(64), nullable=True),
        sa.Column("chunk_size", sa.BigInteger(), nullable=False),
        sa.Column("num_parts", sa.Integer(), nullable=False),
        sa.Column("multipart_id", sa.String(32), sa.ForeignKey("multipart_uploads.id"), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_captures_owner_id", "captures", ["owner_id"])
    op.create_index("ix_captures_created_at", "captures", ["created_at"])
    op.create_table(
        "video_upload_groups",
        sa.Column("id", sa.String(36), primary_key=True),
        _owner(),
        sa.Column("title", sa.String(500), nullable=True),
        sa.Column("layout", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_video_upload_groups_owner_id", "video_upload_groups", ["owner_id"])
    op.create_index("ix_video_upload_groups_state", "video_upload_groups", ["state"])
    op.create_index("ix_video_upload_groups_expires_at", "video_upload_groups", ["expires_at"])
    op.create_table(
        "video_upload_files",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "group_id", sa.String(36), sa.ForeignKey("video_upload_groups.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(128), nullable=True),
        sa.Column("part_size", sa.BigInteger(), nullable=False),
        sa.Column("part_count", sa.Integer(), nullable=False),
        sa.Column("multipart_id", sa.String(32), sa.ForeignKey("multipart_uploads.id"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_video_upload_files_group_id", "video_upload_files", ["group_id"])
    op.create_table(
        "video_library",
        sa.Column("id", sa.String(36), primary_key=True),
        _owner(),
        sa.Column(
            "group_id", sa.String(36), sa.ForeignKey("video_upload_groups.id", ondelete="CASCADE"),
            nullable=False, unique=True,
        ),
        sa.Column("title", sa.String(500), nullable=True),
        sa.Column("layout", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_video_library_owner_id", "video_library", ["owner_id"])
    op.create_index("ix_video_library_created_at", "video_library", ["created_at"])


def downgrade() -> None:
    for table in ("video_library", "video_upload_files", "video_upload_groups", "captures", "multipart_parts",
                  "multipart_uploads"):
        op.drop_table(table)

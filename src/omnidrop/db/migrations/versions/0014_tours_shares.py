"""360 tours of projects, and share links.

Revision ID: 0014_tours_shares
Revises: 0013_job_queues
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from omnidrop.db.types import UTCDateTime

revision = "0014_tours_shares"
down_revision = "0013_job_queues"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as table:
        table.add_column(sa.Column("tour", sa.JSON(), nullable=True))
    op.create_table(
        "share_links",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_share_links_project_id", "share_links", ["project_id"])


def downgrade() -> None:
    op.drop_index("ix_share_links_project_id", "share_links")
    op.drop_table("share_links")
    with op.batch_alter_table("projects") as table:
        table.drop_column("tour")

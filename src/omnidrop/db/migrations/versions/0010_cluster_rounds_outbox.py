"""Round leases for the periodic chores any worker may run, and the outbox of upload events.

Revision ID: 0010_cluster_rounds_outbox
Revises: 0009_write_fencing
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from omnidrop.db.types import UTCDateTime

revision = "0010_cluster_rounds_outbox"
down_revision = "0009_write_fencing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_rounds",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("sink", sa.String(32), nullable=False),
        sa.Column("upload_id", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claim_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_outbox_events_sink_upload", "outbox_events", ["sink", "upload_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_events_sink_upload", "outbox_events")
    op.drop_table("outbox_events")
    op.drop_table("cluster_rounds")

"""Direct video verification results on library entries (captures keep theirs in `outputs`).

Revision ID: 0007_capture_processing
Revises: 0005, 0004 (where video_library is made)
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from omnidrop.db.types import UTCDateTime

revision = "0007_capture_processing"
down_revision = ("0005", "0004")  # a parent, not depends_on: see 0008_merge_heads
branch_labels = None
depends_on = None

COLUMNS = ("verification_state", "verification_code", "verification_message", "verification", "verified_at")


def upgrade() -> None:
    with op.batch_alter_table("video_library") as table:
        table.add_column(sa.Column("verification_state", sa.String(16), nullable=True))
        table.add_column(sa.Column("verification_code", sa.String(64), nullable=True))
        table.add_column(sa.Column("verification_message", sa.Text(), nullable=True))
        table.add_column(sa.Column("verification", sa.JSON(), nullable=True))
        table.add_column(sa.Column("verified_at", UTCDateTime(), nullable=True))
    # Entries made before verification existed were never probed: say so rather than "pending".
    op.execute("UPDATE video_library SET verification_state = 'unverified'")


def downgrade() -> None:
    with op.batch_alter_table("video_library") as table:
        for name in COLUMNS:
            table.drop_column(name)

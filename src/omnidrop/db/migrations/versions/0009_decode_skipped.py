"""What frame extraction skipped in a vehicle video: stretches of packets the decoder refused.

Revision ID: 0009_decode_skipped
Revises: 0008_merge_heads
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_decode_skipped"
down_revision = "0008_merge_heads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vehicle_videos") as table:
        table.add_column(sa.Column("decode_skipped", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vehicle_videos") as table:
        table.drop_column("decode_skipped")

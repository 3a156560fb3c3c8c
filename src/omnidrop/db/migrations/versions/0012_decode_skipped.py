"""What frame extraction skipped in a vehicle video: stretches of packets the decoder refused.

Revision ID: 0012_decode_skipped
Revises: 0011_hardening_inputs
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_decode_skipped"
down_revision = "0011_hardening_inputs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vehicle_videos") as table:
        table.add_column(sa.Column("decode_skipped", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vehicle_videos") as table:
        table.drop_column("decode_skipped")

"""Fencing for upload writers: a lease epoch, the epoch below which writers may still be running
(taken over, never stopped), the store's record of an unfinished blob, and a counter the store draws
unique part numbers from.

Revision ID: 0009_write_fencing
Revises: 0008_merge_heads
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_write_fencing"
down_revision = "0008_merge_heads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("upload_files") as table:
        table.add_column(sa.Column("lease_epoch", sa.BigInteger(), nullable=False, server_default="0"))
        table.add_column(sa.Column("fence_epoch", sa.BigInteger(), nullable=False, server_default="0"))
        table.add_column(sa.Column("store_seq", sa.BigInteger(), nullable=False, server_default="0"))
        table.add_column(sa.Column("store_state", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("upload_files") as table:
        for name in ("store_state", "store_seq", "fence_epoch", "lease_epoch"):
            table.drop_column(name)

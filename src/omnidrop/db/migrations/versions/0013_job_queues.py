"""Named job queues: a job's `queue` says which workers run it ("default", or e.g. "gpu").

Revision ID: 0013_job_queues
Revises: 0012_decode_skipped
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_job_queues"
down_revision = "0012_decode_skipped"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as table:
        table.add_column(sa.Column("queue", sa.String(32), nullable=False, server_default="default"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as table:
        table.drop_column("queue")

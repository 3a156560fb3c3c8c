"""Merge the heads into one: no schema change.

`alembic heads` listed four revisions: 0006 and 0007 both grew from 0005, and 0003 and 0004 were
side branches they reached only through `depends_on`. A dependency does not end a branch in the
script directory, yet once 0006/0007 ran, alembic_version holds no row for 0003/0004, so a merge
naming them fails: Alembic tries to delete those rows and raises KeyError (the mismatch is
sqlalchemy/alembic#1806). So 0006 and 0007 name 0003 and 0004 as parents instead (the same order
of application, the same version rows), which leaves 0006 and 0007 as the heads, merged here.
With one head, the next migration has a single parent and every database ends at one version row.

Revision ID: 0008_merge_heads
Revises: 0006_walkthrough_points, 0007_capture_processing
Create Date: 2026-12-02
"""

revision = "0008_merge_heads"
down_revision = ("0006_walkthrough_points", "0007_capture_processing")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

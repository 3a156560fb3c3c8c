"""Hardening of inputs (issue 17): walkthrough project ids per owner, and archive entries a project refused.

* `walkthrough_projects.id` was the dashboard's slug, unique per server: a second owner learnt that
  an id existed (409) and could take ids before their owner. The key is now `<owner_id>:<slug>`, so
  each owner has its own ids; the API still shows the slug (omnidrop.db.models.walkthrough). Existing
  rows are re-keyed: a new parent row, the children moved over, the old row dropped, so no foreign key
  is ever dangling. Key columns grow to 128 characters (owner ids are 32, slugs 64).
* `projects.refused_entries`: archive entries not unpacked because their extension is not allowed,
  reported in the project record.

Revision ID: 0011_hardening_inputs
Revises: 0010_cluster_rounds_outbox
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_hardening_inputs"
down_revision = "0010_cluster_rounds_outbox"
branch_labels = None
depends_on = None

KEY_COLUMNS = (("walkthrough_projects", "id"), ("walkthrough_drawings", "project_id"),
               ("walkthrough_uploads", "project_id"))
CHILDREN = ("walkthrough_drawings", "walkthrough_uploads")


def _resize(length: int) -> None:
    # SQLite does not enforce VARCHAR lengths (and cannot ALTER a column in place): nothing to do there.
    if op.get_context().dialect.name == "postgresql":
        for table, column in KEY_COLUMNS:
            op.alter_column(table, column, type_=sa.String(length), existing_nullable=False)


def upgrade() -> None:
    _resize(128)
    op.execute("INSERT INTO walkthrough_projects (id, owner_id, name, created_at) "
               "SELECT owner_id || ':' || id, owner_id, name, created_at FROM walkthrough_projects "
               "WHERE id NOT LIKE '%:%'")
    for child in CHILDREN:
        op.execute(f"UPDATE {child} SET project_id = (SELECT p.owner_id || ':' || p.id FROM walkthrough_projects p "
                   f"WHERE p.id = {child}.project_id) WHERE project_id NOT LIKE '%:%'")
    op.execute("DELETE FROM walkthrough_projects WHERE id NOT LIKE '%:%'")
    with op.batch_alter_table("projects") as table:
        table.add_column(sa.Column("refused_entries", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("projects") as table:
        table.drop_column("refused_entries")
    clash = op.get_bind().execute(sa.text(
        "SELECT substr(id, instr(id, ':') + 1) AS slug FROM walkthrough_projects WHERE id LIKE '%:%' "
        "GROUP BY substr(id, instr(id, ':') + 1) HAVING count(*) > 1"
    ) if op.get_context().dialect.name == "sqlite" else sa.text(
        "SELECT split_part(id, ':', 2) AS slug FROM walkthrough_projects WHERE id LIKE '%:%' "
        "GROUP BY split_part(id, ':', 2) HAVING count(*) > 1"
    )).first()
    if clash is not None:
        raise RuntimeError(f"cannot downgrade: walkthrough project id {clash[0]!r} is used by several owners")
    slug = "substr(id, instr(id, ':') + 1)" if op.get_context().dialect.name == "sqlite" else "split_part(id, ':', 2)"
    op.execute(f"INSERT INTO walkthrough_projects (id, owner_id, name, created_at) "
               f"SELECT {slug}, owner_id, name, created_at FROM walkthrough_projects WHERE id LIKE '%:%'")
    for child in CHILDREN:
        child_slug = slug.replace("id", "project_id")
        op.execute(f"UPDATE {child} SET project_id = {child_slug} WHERE project_id LIKE '%:%'")
    op.execute("DELETE FROM walkthrough_projects WHERE id LIKE '%:%'")
    _resize(64)

"""Index thread titles for full-text search (search matched them with a scan of every thread).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The same expression server/db/queries/search.py matches titles with, so the planner can use it.
    op.execute("CREATE INDEX threads_title_search ON threads USING gin (to_tsvector('english', title))")


def downgrade() -> None:
    op.execute("DROP INDEX threads_title_search")

"""Chat turned into a resource: a leader proposes chat messages as a community resource, with consent.

chat_proposals.kind gains 'resource'; such a proposal carries the resource's kind (resource_kind, one
of server.actions.resources.KINDS) and its link (url, http or https only, as resources.url), and once
published points at the resource it became (resource_id). Titles may be as long as a resource's or a
thread's (200): a tip's own rule still keeps its name to 120 (server/actions/chat_knowledge.py).

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-03
"""

from alembic import op

revision = "0013"
down_revision = "0011"  # 0011 is the head (0010 → 0012 → 0011)
branch_labels = None
depends_on = None

RESOURCE_KINDS = "'clinical_trial', 'registry', 'ebook', 'podcast', 'organisation', 'other'"  # as resources.kind


def upgrade() -> None:
    op.execute("ALTER TABLE chat_proposals DROP CONSTRAINT chat_proposals_kind_check")
    op.execute(
        "ALTER TABLE chat_proposals ADD CONSTRAINT chat_proposals_kind_check"
        " CHECK (kind IN ('tip', 'thread', 'resource'))"
    )
    op.execute("ALTER TABLE chat_proposals DROP CONSTRAINT chat_proposals_title_check")
    op.execute(
        "ALTER TABLE chat_proposals ADD CONSTRAINT chat_proposals_title_check"
        " CHECK (char_length(title) BETWEEN 1 AND 200)"
    )
    op.execute(
        "ALTER TABLE chat_proposals"
        f" ADD COLUMN resource_kind text CHECK (resource_kind IN ({RESOURCE_KINDS})),"
        " ADD COLUMN url text CHECK (url ~* '^https?://' AND char_length(url) <= 2000),"
        " ADD COLUMN resource_id bigint REFERENCES resources(id) ON DELETE SET NULL"
    )
    # A resource proposal has both, and only a resource proposal has either.
    op.execute(
        "ALTER TABLE chat_proposals ADD CONSTRAINT chat_proposals_resource_fields"
        " CHECK ((kind = 'resource') = (resource_kind IS NOT NULL AND url IS NOT NULL))"
    )


def downgrade() -> None:
    op.execute("DELETE FROM chat_proposals WHERE kind = 'resource'")
    op.execute("ALTER TABLE chat_proposals DROP CONSTRAINT chat_proposals_resource_fields")
    op.execute("ALTER TABLE chat_proposals DROP COLUMN resource_id, DROP COLUMN url, DROP COLUMN resource_kind")
    op.execute("ALTER TABLE chat_proposals DROP CONSTRAINT chat_proposals_title_check")
    # A thread's proposal may have a title longer than the old limit: it keeps its first 120 characters.
    op.execute("UPDATE chat_proposals SET title = left(title, 120) WHERE char_length(title) > 120")
    op.execute(
        "ALTER TABLE chat_proposals ADD CONSTRAINT chat_proposals_title_check"
        " CHECK (char_length(title) BETWEEN 1 AND 120)"
    )
    op.execute("ALTER TABLE chat_proposals DROP CONSTRAINT chat_proposals_kind_check")
    op.execute("ALTER TABLE chat_proposals ADD CONSTRAINT chat_proposals_kind_check CHECK (kind IN ('tip', 'thread'))")

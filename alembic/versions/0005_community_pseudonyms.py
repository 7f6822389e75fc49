"""Per-community pseudonyms: a member may post and chat in a community under a name chosen for it.

Others see the pseudonym and never the account's username, display name or other communities. In
live frames a pseudonymous member is known by a random alias instead of the account's id, so the
same person cannot be matched across two communities by id either.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """ALTER TABLE memberships
             ADD COLUMN pseudonym text CHECK (pseudonym IS NULL OR char_length(pseudonym) BETWEEN 2 AND 40),
             ADD COLUMN alias bigint UNIQUE,
             -- An alias exists exactly while a pseudonym does: code reads the alias alone.
             ADD CONSTRAINT memberships_alias_with_pseudonym CHECK ((pseudonym IS NULL) = (alias IS NULL))"""
    )
    op.execute(
        "CREATE UNIQUE INDEX memberships_pseudonym ON memberships (community_id, lower(pseudonym)) WHERE pseudonym IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX memberships_pseudonym")
    op.execute("ALTER TABLE memberships DROP COLUMN pseudonym, DROP COLUMN alias")

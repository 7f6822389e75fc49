"""Who may read what in a community: introductions and live rooms are members-only unless leaders open them.

Families share a child's diagnosis, gene, town and school in introductions and in the live room;
for the only family with that gene in a country, that identifies them. So both start closed to
non-members, in every community (existing ones included), until the community's leaders open them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """ALTER TABLE communities
             ADD COLUMN introductions_open boolean NOT NULL DEFAULT false,
             ADD COLUMN rooms_open boolean NOT NULL DEFAULT false"""
    )


def downgrade() -> None:
    op.execute("ALTER TABLE communities DROP COLUMN introductions_open, DROP COLUMN rooms_open")

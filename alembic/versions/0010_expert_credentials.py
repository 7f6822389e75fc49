"""The expert badge's credential: what a site admin checked when giving it ("Neurologist, Hôpital Necker").

Shown on the admins' expert page (/admin/experts); empty for members who are not experts.

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-03
"""

from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE users ADD COLUMN expert_credential text NOT NULL DEFAULT ''"
        " CHECK (char_length(expert_credential) <= 200)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE users DROP COLUMN expert_credential")

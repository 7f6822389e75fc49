"""How far each participant of a private conversation has read, for its unread count.

family_connections.requester_read_seq / addressee_read_seq: the last seq each of the two has been shown
(opening the conversation, a join, a `read` frame, or having it open when a message arrives; sending
reads one's own message). The unread count of a conversation is last_seq minus one's own read seq.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-03
"""

from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Conversations that exist now count as read: nobody is told of old messages as if they were new.
    op.execute(
        "ALTER TABLE family_connections"
        " ADD COLUMN requester_read_seq bigint NOT NULL DEFAULT 0,"
        " ADD COLUMN addressee_read_seq bigint NOT NULL DEFAULT 0"
    )
    op.execute("UPDATE family_connections SET requester_read_seq = last_seq, addressee_read_seq = last_seq")


def downgrade() -> None:
    op.execute("ALTER TABLE family_connections DROP COLUMN requester_read_seq, DROP COLUMN addressee_read_seq")

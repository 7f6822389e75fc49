"""Live-room replies, reactions, and authors' edits and deletions of their own messages.

A message may reply to an earlier one of its room (`reply_to_id`). `changed_at_seq` is the room's head
seq when the message last changed after it was sent (edited, deleted, removed, approved, reacted to): a
client resuming with `since` = S is sent the current state of every earlier message changed at a head of
S or more (docs/protocol.md, *Resuming*). Earlier versions of an edited message are kept in
`room_message_edits` (leaders read them); reactions use the forum's set, one per member per message.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """ALTER TABLE room_messages
             ADD COLUMN reply_to_id bigint REFERENCES room_messages(id) ON DELETE SET NULL,
             ADD COLUMN changed_at_seq bigint"""
    )
    op.execute(
        "CREATE INDEX room_messages_changes ON room_messages (room_id, changed_at_seq) WHERE changed_at_seq IS NOT NULL"
    )
    op.execute(
        """CREATE TABLE room_message_edits (
               id          bigserial PRIMARY KEY,
               message_id  bigint NOT NULL REFERENCES room_messages(id) ON DELETE CASCADE,
               body        text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 4000),
               written_at  timestamptz NOT NULL,
               replaced_at timestamptz NOT NULL DEFAULT now()
           )"""
    )
    op.execute("CREATE INDEX room_message_edits_message ON room_message_edits (message_id, id)")
    op.execute(
        """CREATE TABLE room_message_reactions (
               message_id  bigint NOT NULL REFERENCES room_messages(id) ON DELETE CASCADE,
               user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
               kind        text NOT NULL CHECK (kind IN ('helped', 'thanks')),
               created_at  timestamptz NOT NULL DEFAULT now(),
               PRIMARY KEY (message_id, user_id)
           )"""
    )


def downgrade() -> None:
    op.execute("DROP TABLE room_message_reactions")
    op.execute("DROP TABLE room_message_edits")
    op.execute("DROP INDEX room_messages_changes")
    op.execute("ALTER TABLE room_messages DROP COLUMN changed_at_seq, DROP COLUMN reply_to_id")

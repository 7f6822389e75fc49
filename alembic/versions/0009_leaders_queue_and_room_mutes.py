"""Leaders are never left waiting: review notifications, room-scoped mutes, and the crisis path's steps.

- notifications may be of kind 'review' (a held post or message, or a community proposal, waits for someone);
- a mute may be scoped to one room (sanctions.room_id; NULL: the whole community);
- a crisis flag records who reached out and when (flags.reached_out_by / reached_out_at).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

KINDS = (
    "'reply', 'mention', 'answer', 'accepted', 'welcome', 'introduction', 'moderation', 'flag', 'proposal', 'crisis',"
    " 'family', 'conversation'"
)  # 0008 added the last two


def upgrade() -> None:
    op.execute("ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check")
    op.execute(f"ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN ({KINDS}, 'review'))")
    # The notifications about one item waiting for leaders are marked read for all of them once it is dealt with.
    op.execute(
        "CREATE INDEX notifications_item ON notifications (community_id, (data->>'item'))"
        " WHERE read_at IS NULL AND data ? 'item'"
    )
    op.execute("ALTER TABLE sanctions ADD COLUMN room_id bigint REFERENCES rooms(id) ON DELETE CASCADE")
    op.execute(
        """ALTER TABLE flags
             ADD COLUMN reached_out_by bigint REFERENCES users(id) ON DELETE SET NULL,
             ADD COLUMN reached_out_at timestamptz"""
    )


def downgrade() -> None:
    op.execute("ALTER TABLE flags DROP COLUMN reached_out_by, DROP COLUMN reached_out_at")
    op.execute("ALTER TABLE sanctions DROP COLUMN room_id")
    op.execute("DROP INDEX notifications_item")
    op.execute("DELETE FROM notifications WHERE kind = 'review'")
    op.execute("ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check")
    op.execute(f"ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN ({KINDS}))")

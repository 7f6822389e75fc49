"""Consent requests get their own notification kind, so switching moderation notices off never hides one.

Revision ID: 0011
Revises: 0012
Create Date: 2026-12-03
"""

from alembic import op

revision = "0011"
down_revision = "0012"  # main already holds 0012 (on 0010): chained after it for a single head
branch_labels = None
depends_on = None

KINDS = (
    "'reply', 'mention', 'answer', 'accepted', 'welcome', 'introduction', 'moderation', 'flag', 'proposal', 'crisis',"
    " 'family', 'conversation', 'review'"
)  # 0008 added family and conversation, 0009 review


def upgrade() -> None:
    op.execute("ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check")
    op.execute(
        f"ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN ({KINDS}, 'consent'))"
    )


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind = 'consent'")
    op.execute("DELETE FROM notification_preferences WHERE kind = 'consent'")
    op.execute("ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check")
    op.execute(f"ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN ({KINDS}))")

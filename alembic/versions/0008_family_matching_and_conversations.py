"""Families like mine and private conversations: opted-in facts, connection requests, conversations, blocks, reports.

A member's facts in a community exist exactly while they opt in (opting out deletes the row; leaving the
community deletes it with the membership). An accepted connection is a conversation: it numbers its
messages like a room (last_seq, epoch, one client id per author), see docs/protocol.md.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

KINDS = (
    "'reply', 'mention', 'answer', 'accepted', 'welcome', 'introduction', 'moderation', 'flag', 'proposal', 'crisis'"
)


SCHEMA = """
CREATE TABLE family_facts (
    community_id    bigint NOT NULL,
    user_id         bigint NOT NULL,
    gene            text NOT NULL DEFAULT '' CHECK (char_length(gene) <= 20),
    variant         text NOT NULL DEFAULT '' CHECK (char_length(variant) <= 80),
    subtype         text NOT NULL DEFAULT '' CHECK (char_length(subtype) <= 80),
    treatments      text[] NOT NULL DEFAULT '{}',
    age_band        text NOT NULL DEFAULT '' CHECK (age_band IN ('', '0-1', '2-5', '6-11', '12-17', '18-39', '40+')),
    country         text NOT NULL DEFAULT '' CHECK (char_length(country) <= 2),
    languages       text[] NOT NULL DEFAULT '{}',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, user_id),
    FOREIGN KEY (community_id, user_id) REFERENCES memberships (community_id, user_id) ON DELETE CASCADE
);

CREATE TABLE family_connections (
    id              bigserial PRIMARY KEY,
    community_id    bigint NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    requester_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    addressee_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'declined', 'ended')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    answered_at     timestamptz,
    -- As a conversation (once accepted): numbered like a room's messages.
    last_seq        bigint NOT NULL DEFAULT 0,
    epoch           text NOT NULL DEFAULT md5(random()::text),
    CHECK (requester_id <> addressee_id)
);
-- One open request or conversation per pair of people per community.
CREATE UNIQUE INDEX family_connections_pair ON family_connections
    (community_id, least(requester_id, addressee_id), greatest(requester_id, addressee_id))
    WHERE status IN ('pending', 'accepted');
CREATE INDEX family_connections_addressee ON family_connections (addressee_id);
CREATE INDEX family_connections_requester ON family_connections (requester_id);

CREATE TABLE conversation_messages (
    id              bigserial PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES family_connections(id) ON DELETE CASCADE,
    seq             bigint NOT NULL,
    author_id       bigint REFERENCES users(id) ON DELETE SET NULL,
    client_msg_id   text NOT NULL,
    body            text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 4000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (conversation_id, seq),
    UNIQUE (conversation_id, author_id, client_msg_id)
);

CREATE TABLE person_blocks (
    blocker_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    blocked_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);
CREATE INDEX person_blocks_blocked ON person_blocks (blocked_id);

CREATE TABLE conversation_reports (
    id              bigserial PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES family_connections(id) ON DELETE CASCADE,
    reporter_id     bigint REFERENCES users(id) ON DELETE SET NULL,
    reason          text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
    -- What the report hands to site admins: the messages up to this seq, nothing sent after it.
    up_to_seq       bigint NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    resolved_by     bigint REFERENCES users(id) ON DELETE SET NULL
);
"""


def upgrade() -> None:
    for statement in SCHEMA.split(";\n"):
        if statement.strip():
            op.execute(statement)
    op.execute("ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check")
    op.execute(
        f"ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN ({KINDS}, 'family', 'conversation'))"
    )


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind IN ('family', 'conversation')")
    op.execute("ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check")
    op.execute(f"ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN ({KINDS}))")
    op.execute(
        "DROP TABLE conversation_reports, person_blocks, conversation_messages, family_connections, family_facts"
    )

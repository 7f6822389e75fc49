"""The expert badge's credential, and chat turned into lasting knowledge with every quoted author's consent.

users.expert_credential: what a site admin checked when giving the badge ("Neurologist, Hôpital Necker"),
shown on the admins' expert page (/admin/experts); empty for members who are not experts.

chat_proposals: a leader or an author proposes chat messages of a room as a tip or a new thread;
chat_proposal_quotes: each quoted message and its author's answer (asked, accepted, declined). Nothing
is published until no answer is awaited; declined messages are left out (server/actions/chat_knowledge.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE users ADD COLUMN expert_credential text NOT NULL DEFAULT ''"
        " CHECK (char_length(expert_credential) <= 200)"
    )
    for statement in SCHEMA.split(";\n"):
        if statement.strip():
            op.execute(statement)


SCHEMA = """
CREATE TABLE chat_proposals (
    id              bigserial PRIMARY KEY,
    community_id    bigint NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    room_id         bigint NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    proposer_id     bigint REFERENCES users(id) ON DELETE SET NULL,
    kind            text NOT NULL CHECK (kind IN ('tip', 'thread')),
    title           text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 120),
    note            text NOT NULL DEFAULT '' CHECK (char_length(note) <= 1000),
    status          text NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'published', 'dropped')),
    tip_id          bigint REFERENCES tips(id) ON DELETE SET NULL,
    thread_id       bigint REFERENCES threads(id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_proposals_community ON chat_proposals (community_id, id DESC);

CREATE TABLE chat_proposal_quotes (
    proposal_id     bigint NOT NULL REFERENCES chat_proposals(id) ON DELETE CASCADE,
    message_id      bigint NOT NULL REFERENCES room_messages(id) ON DELETE CASCADE,
    author_id       bigint REFERENCES users(id) ON DELETE SET NULL,
    consent         text NOT NULL DEFAULT 'asked' CHECK (consent IN ('asked', 'accepted', 'declined')),
    decided_at      timestamptz,
    PRIMARY KEY (proposal_id, message_id)
);
CREATE INDEX chat_proposal_quotes_author ON chat_proposal_quotes (author_id, proposal_id);
"""


def downgrade() -> None:
    op.execute("DROP TABLE chat_proposal_quotes")
    op.execute("DROP TABLE chat_proposals")
    op.execute("ALTER TABLE users DROP COLUMN expert_credential")

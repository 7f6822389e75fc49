"""Privacy a family controls: hidden communities with invite links and join requests, members-only
posts inside public communities, and profiles that show only what their member chose.

A hidden community is unlisted: only its members (and site admins) learn that it exists. People
join it through an invite link its leaders made, at once or after a leader approves their request.
Invite tokens are stored hashed, like session tokens: a copy of the database gives no way in.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _run(script: str) -> None:
    # asyncpg runs one statement per call.
    for statement in script.split(";"):
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    _run(
        """
ALTER TABLE communities DROP CONSTRAINT communities_visibility_check;
ALTER TABLE communities ADD CONSTRAINT communities_visibility_check
    CHECK (visibility IN ('public', 'members', 'hidden'));

CREATE TABLE community_invites (
    id              bigserial PRIMARY KEY,
    community_id    bigint NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    token_hash      bytea NOT NULL UNIQUE,
    created_by      bigint REFERENCES users(id) ON DELETE SET NULL,
    needs_approval  boolean NOT NULL DEFAULT false,
    uses            integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,
    revoked_at      timestamptz
);
CREATE INDEX community_invites_community ON community_invites (community_id, id DESC);

CREATE TABLE join_requests (
    id              bigserial PRIMARY KEY,
    community_id    bigint NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    invite_id       bigint REFERENCES community_invites(id) ON DELETE SET NULL,
    message         text NOT NULL DEFAULT '' CHECK (char_length(message) <= 1000),
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'declined')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    decided_by      bigint REFERENCES users(id) ON DELETE SET NULL,
    decided_at      timestamptz
);
-- One open request per person and community: asking twice updates the message.
CREATE UNIQUE INDEX join_requests_pending ON join_requests (community_id, user_id) WHERE status = 'pending';

ALTER TABLE threads ADD COLUMN audience text NOT NULL DEFAULT 'everyone' CHECK (audience IN ('everyone', 'members'));
ALTER TABLE posts ADD COLUMN audience text NOT NULL DEFAULT 'everyone' CHECK (audience IN ('everyone', 'members'));

-- What a profile shows to others: by default neither the communities nor excerpts of posts.
ALTER TABLE users ADD COLUMN show_communities boolean NOT NULL DEFAULT false,
                  ADD COLUMN show_posts boolean NOT NULL DEFAULT false;
"""
    )


def downgrade() -> None:
    _run(
        """
ALTER TABLE users DROP COLUMN show_communities, DROP COLUMN show_posts;
ALTER TABLE posts DROP COLUMN audience;
ALTER TABLE threads DROP COLUMN audience;
DROP TABLE join_requests;
DROP TABLE community_invites;
UPDATE communities SET visibility = 'members' WHERE visibility = 'hidden';
ALTER TABLE communities DROP CONSTRAINT communities_visibility_check;
ALTER TABLE communities ADD CONSTRAINT communities_visibility_check CHECK (visibility IN ('public', 'members'));
"""
    )

"""Initial schema for the whole mission: accounts, communities, forum, live rooms, moderation.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE users (
    id              bigserial PRIMARY KEY,
    username        text NOT NULL CHECK (username ~ '^[A-Za-z0-9_.-]{3,32}$' OR username ~ '^deleted-[0-9]+$'),
    display_name    text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 80),
    bio             text NOT NULL DEFAULT '' CHECK (char_length(bio) <= 1000),
    email           text CHECK (email IS NULL OR char_length(email) <= 254),
    password_hash   text,
    is_admin        boolean NOT NULL DEFAULT false,
    is_expert       boolean NOT NULL DEFAULT false,
    language        text CHECK (language IS NULL OR language ~ '^[a-z]{2}(_[A-Z]{2})?$'),
    time_zone       text NOT NULL DEFAULT 'UTC',
    created_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));

CREATE TABLE sessions (
    id_hash         bytea PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    user_agent      text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE communities (
    id              bigserial PRIMARY KEY,
    slug            text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 80),
    name            text NOT NULL CHECK (char_length(name) BETWEEN 2 AND 120),
    synonyms        text[] NOT NULL DEFAULT '{}',
    description     text NOT NULL DEFAULT '' CHECK (char_length(description) <= 2000),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('proposed', 'active', 'declined', 'archived')),
    visibility      text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'members')),
    hold_first_posts boolean NOT NULL DEFAULT true,
    hold_release_after integer NOT NULL DEFAULT 2 CHECK (hold_release_after BETWEEN 0 AND 100),
    flag_hide_threshold integer NOT NULL DEFAULT 3 CHECK (flag_hide_threshold BETWEEN 1 AND 100),
    member_count    integer NOT NULL DEFAULT 0,
    last_activity_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    search          tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', coalesce(name, '')), 'A') ||
        setweight(to_tsvector('simple', coalesce(immutable_array_join(synonyms), '')), 'A') ||
        setweight(to_tsvector('english', coalesce(description, '')), 'C')
    ) STORED
);
CREATE INDEX communities_search ON communities USING gin (search);
CREATE INDEX communities_status_activity ON communities (status, last_activity_at DESC, id DESC);

CREATE TABLE community_proposals (
    id              bigserial PRIMARY KEY,
    community_id    bigint NOT NULL UNIQUE REFERENCES communities(id) ON DELETE CASCADE,
    proposer_id     bigint REFERENCES users(id) ON DELETE SET NULL,
    reason          text NOT NULL DEFAULT '' CHECK (char_length(reason) <= 4000),
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'declined')),
    decided_by      bigint REFERENCES users(id) ON DELETE SET NULL,
    decided_at      timestamptz,
    decision_reason text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE condition_sections (
    community_id    bigint NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    section         text NOT NULL CHECK (section IN ('what_is_it', 'causes', 'symptoms', 'diagnosis',
                        'diagnostic_tests', 'treatments', 'prognosis', 'synonyms', 'acknowledgement', 'references')),
    body_md         text NOT NULL DEFAULT '' CHECK (char_length(body_md) <= 50000),
    updated_by      bigint REFERENCES users(id) ON DELETE SET NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, section)
);

CREATE TABLE section_revisions (
    id              bigserial PRIMARY KEY,
    community_id    bigint NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    section         text NOT NULL,
    body_md         text NOT NULL,
    summary         text NOT NULL DEFAULT '' CHECK (char_length(summary) <= 300),
    author_id       bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX section_revisions_by_section ON section_revisions (community_id, section, id DESC);

CREATE TABLE memberships (
    community_id    bigint NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role            text NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'leader')),
    is_welcomer     boolean NOT NULL DEFAULT false,
    approved_posts  integer NOT NULL DEFAULT 0,
    joined_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE threads (
    id              bigserial PRIMARY KEY,
    community_id    bigint NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    kind            text NOT NULL DEFAULT 'discussion' CHECK (kind IN ('discussion', 'introduction', 'question')),
    title           text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    author_id       bigint REFERENCES users(id) ON DELETE SET NULL,
    state           text NOT NULL DEFAULT 'visible' CHECK (state IN ('visible', 'held', 'hidden', 'deleted')),
    pinned          boolean NOT NULL DEFAULT false,
    locked          boolean NOT NULL DEFAULT false,
    reply_count     integer NOT NULL DEFAULT 0,
    accepted_post_id bigint,
    intro           jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_activity_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX threads_listing ON threads (community_id, pinned DESC, last_activity_at DESC, id DESC);
CREATE INDEX threads_kind_listing ON threads (community_id, kind, last_activity_at DESC, id DESC);

CREATE TABLE posts (
    id              bigserial PRIMARY KEY,
    thread_id       bigint NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    author_id       bigint REFERENCES users(id) ON DELETE SET NULL,
    body_md         text NOT NULL CHECK (char_length(body_md) BETWEEN 1 AND 50000),
    state           text NOT NULL DEFAULT 'visible' CHECK (state IN ('visible', 'held', 'hidden', 'deleted')),
    reply_to_post_id bigint REFERENCES posts(id) ON DELETE SET NULL,
    state_reason    text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    edited_at       timestamptz,
    search          tsvector GENERATED ALWAYS AS (to_tsvector('english', body_md)) STORED
);
CREATE INDEX posts_thread ON posts (thread_id, id);
CREATE INDEX posts_author ON posts (author_id, id DESC);
CREATE INDEX posts_search ON posts USING gin (search);
ALTER TABLE threads ADD CONSTRAINT threads_accepted_post FOREIGN KEY (accepted_post_id) REFERENCES posts(id) ON DELETE SET NULL;

CREATE TABLE post_revisions (
    id              bigserial PRIMARY KEY,
    post_id         bigint NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    body_md         text NOT NULL,
    editor_id       bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX post_revisions_post ON post_revisions (post_id, id);

CREATE TABLE rooms (
    id              bigserial PRIMARY KEY,
    community_id    bigint NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    slug            text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 60),
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 80),
    is_main         boolean NOT NULL DEFAULT false,
    -- The epoch changes whenever the room's history is reset, so clients holding an old
    -- sequence number are told to reload instead of silently skipping ahead.
    epoch           text NOT NULL DEFAULT md5(random()::text || clock_timestamp()::text),
    last_seq        bigint NOT NULL DEFAULT 0,
    slow_mode_seconds integer NOT NULL DEFAULT 0 CHECK (slow_mode_seconds BETWEEN 0 AND 3600),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_id, slug)
);
CREATE UNIQUE INDEX rooms_one_main ON rooms (community_id) WHERE is_main;

CREATE TABLE room_messages (
    id              bigserial PRIMARY KEY,
    room_id         bigint NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    seq             bigint NOT NULL,
    author_id       bigint REFERENCES users(id) ON DELETE SET NULL,
    client_msg_id   text NOT NULL CHECK (char_length(client_msg_id) BETWEEN 1 AND 64),
    body            text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 4000),
    state           text NOT NULL DEFAULT 'visible' CHECK (state IN ('visible', 'held', 'hidden', 'deleted')),
    state_reason    text NOT NULL DEFAULT '',
    state_changed_by bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    edited_at       timestamptz,
    UNIQUE (room_id, seq),
    UNIQUE (room_id, author_id, client_msg_id)
);
CREATE INDEX room_messages_author ON room_messages (author_id, created_at DESC);

CREATE TABLE room_members (
    room_id         bigint NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    last_read_seq   bigint NOT NULL DEFAULT 0,
    hide_presence   boolean NOT NULL DEFAULT false,
    PRIMARY KEY (room_id, user_id)
);

CREATE TABLE resources (
    id              bigserial PRIMARY KEY,
    community_id    bigint NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('clinical_trial', 'registry', 'ebook', 'podcast', 'organisation', 'other')),
    title           text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description     text NOT NULL DEFAULT '' CHECK (char_length(description) <= 4000),
    url             text NOT NULL CHECK (url ~* '^https?://' AND char_length(url) <= 2000),
    published_on    date,
    created_by      bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    removed_at      timestamptz
);
CREATE INDEX resources_listing ON resources (community_id, created_at DESC) WHERE removed_at IS NULL;

CREATE TABLE tips (
    id              bigserial PRIMARY KEY,
    community_id    bigint NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    author_id       bigint REFERENCES users(id) ON DELETE SET NULL,
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 120),
    description     text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 2000),
    hidden          boolean NOT NULL DEFAULT false,
    hidden_by       bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tips_listing ON tips (community_id, created_at DESC);

CREATE TABLE reactions (
    post_id         bigint NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('helped', 'thanks')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (post_id, user_id)
);

CREATE TABLE flags (
    id              bigserial PRIMARY KEY,
    community_id    bigint NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    post_id         bigint REFERENCES posts(id) ON DELETE CASCADE,
    message_id      bigint REFERENCES room_messages(id) ON DELETE CASCADE,
    subject_user_id bigint REFERENCES users(id) ON DELETE SET NULL,
    flagger_id      bigint REFERENCES users(id) ON DELETE SET NULL,
    reason          text NOT NULL CHECK (reason IN ('spam', 'unkind', 'misinformation', 'private_information', 'at_risk', 'other')),
    note            text NOT NULL DEFAULT '' CHECK (char_length(note) <= 1000),
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'upheld', 'dismissed')),
    handled_by      bigint REFERENCES users(id) ON DELETE SET NULL,
    handled_at      timestamptz,
    escalated_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((post_id IS NULL) <> (message_id IS NULL))
);
CREATE INDEX flags_queue ON flags (community_id, status, created_at);
CREATE UNIQUE INDEX flags_one_per_member_post ON flags (post_id, flagger_id) WHERE post_id IS NOT NULL;
CREATE UNIQUE INDEX flags_one_per_member_message ON flags (message_id, flagger_id) WHERE message_id IS NOT NULL;

CREATE TABLE moderation_actions (
    id              bigserial PRIMARY KEY,
    community_id    bigint REFERENCES communities(id) ON DELETE SET NULL,
    actor_id        bigint REFERENCES users(id) ON DELETE SET NULL,
    action          text NOT NULL,
    target_user_id  bigint REFERENCES users(id) ON DELETE SET NULL,
    target_kind     text NOT NULL DEFAULT '',
    target_id       bigint,
    reason          text NOT NULL DEFAULT '',
    details         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moderation_actions_community ON moderation_actions (community_id, id DESC);

-- The audit log is append-only: no one may edit or delete an entry, whatever the SQL.
-- (ON DELETE SET NULL from users/communities is allowed through: anonymizing keeps the entry.)
CREATE FUNCTION moderation_actions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the audit log is append-only';
    END IF;
    IF NEW.action IS DISTINCT FROM OLD.action OR NEW.reason IS DISTINCT FROM OLD.reason
       OR NEW.details IS DISTINCT FROM OLD.details OR NEW.created_at IS DISTINCT FROM OLD.created_at
       OR NEW.target_kind IS DISTINCT FROM OLD.target_kind OR NEW.target_id IS DISTINCT FROM OLD.target_id THEN
        RAISE EXCEPTION 'the audit log is append-only';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER moderation_actions_no_edit BEFORE UPDATE OR DELETE ON moderation_actions
    FOR EACH ROW EXECUTE FUNCTION moderation_actions_append_only();

CREATE TABLE sanctions (
    id              bigserial PRIMARY KEY,
    community_id    bigint NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('mute', 'ban')),
    reason          text NOT NULL DEFAULT '' CHECK (char_length(reason) <= 1000),
    created_by      bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    ends_at         timestamptz,
    lifted_at       timestamptz,
    lifted_by       bigint REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX sanctions_active ON sanctions (community_id, user_id) WHERE lifted_at IS NULL;

CREATE TABLE notifications (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('reply', 'mention', 'answer', 'accepted', 'welcome',
                        'introduction', 'moderation', 'flag', 'proposal', 'crisis')),
    community_id    bigint REFERENCES communities(id) ON DELETE CASCADE,
    thread_id       bigint REFERENCES threads(id) ON DELETE CASCADE,
    post_id         bigint REFERENCES posts(id) ON DELETE CASCADE,
    actor_id        bigint REFERENCES users(id) ON DELETE SET NULL,
    data            jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    read_at         timestamptz,
    emailed_at      timestamptz
);
CREATE INDEX notifications_unread ON notifications (user_id, id DESC) WHERE read_at IS NULL;
CREATE INDEX notifications_user ON notifications (user_id, id DESC);

CREATE TABLE notification_preferences (
    user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind            text NOT NULL,
    in_app          boolean NOT NULL DEFAULT true,
    email           boolean NOT NULL DEFAULT false,
    PRIMARY KEY (user_id, kind)
);
"""

DOWNGRADE = r"""
DROP TABLE IF EXISTS notification_preferences, notifications, sanctions, moderation_actions, flags,
    reactions, tips, resources, room_members, room_messages, rooms, post_revisions, posts, threads,
    memberships, section_revisions, condition_sections, community_proposals, communities, sessions, users CASCADE;
DROP FUNCTION IF EXISTS moderation_actions_append_only();
DROP FUNCTION IF EXISTS immutable_array_join(text[]);
"""

# array_to_string is only STABLE; a generated column needs an IMMUTABLE function.
IMMUTABLE_JOIN = r"""
CREATE FUNCTION immutable_array_join(text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string($1, ' ') $$;
"""


def run_script(sql: str) -> None:
    """Run a multi-statement script through asyncpg's simple-query path (prepared statements allow one)."""
    from sqlalchemy.util.concurrency import await_

    driver = op.get_bind().connection.driver_connection
    assert driver is not None
    await_(driver.execute(sql))


def upgrade() -> None:
    run_script(IMMUTABLE_JOIN)
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)

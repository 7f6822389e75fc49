"""SQL for in-app notifications: creation that honours opt-outs and visibility, the unread count, reading, digests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from server.db.queries.access import audience_of_ids, forum_readable_by, room_readable_by
from server.db.queries.names import membership_of, shown_name, shown_username

# Kinds a member can switch off (the ones the forum creates); other engineers add their own.
FORUM_KINDS = ("reply", "mention", "answer", "accepted", "welcome", "introduction")
# Kinds that tell leaders (or site admins) something waits for them: a held post or message, a proposal
# (review), a flag, someone at risk (crisis). They go in the email digest unless switched off.
WAITING_KINDS = ("review", "flag", "crisis")
_WAITING_IN = "(" + ", ".join(f"'{kind}'" for kind in WAITING_KINDS) + ")"
# Kinds listed in a member's preferences: the forum's, consent requests and items waiting for review.
# Flags and crisis reports are not: they always reach the leaders (docs/architecture.md, waiting items).
PREFERENCE_KINDS = (*FORUM_KINDS, "consent", "review")
# The header shows "99+" past this: counting further would cost more and tell nobody anything.
UNREAD_CAP = 100


@dataclass(frozen=True)
class Created:
    id: int
    user_id: int
    kind: str


@dataclass(frozen=True)
class Notification:
    id: int
    kind: str
    created_at: datetime
    read_at: datetime | None
    thread_id: int | None
    post_id: int | None
    data: dict[str, Any]
    thread_title: str | None
    community_slug: str | None
    community_name: str | None
    actor_username: str | None
    actor_display_name: str | None


@dataclass(frozen=True)
class Preference:
    kind: str
    in_app: bool
    email: bool


@dataclass(frozen=True)
class DigestRecipient:
    user_id: int
    email: str
    display_name: str
    language: str | None


# Notifications about a community the member can no longer read (they left a members-only
# community, or were banned) stay in the table but are never shown or counted.
# A notification about a thread follows that thread's kind (an introduction may be closed to non-members).
_THREAD_KIND = "(SELECT kind FROM threads WHERE id = n.thread_id)"
# And a reply its author meant for members only stays for members.
_VISIBLE = f"""(n.community_id IS NULL
    OR {forum_readable_by("c", "n.user_id", "nu.is_admin", _THREAD_KIND, audience_of_ids("n.thread_id", "n.post_id"))})"""


_NEW_THREAD_KIND = "(SELECT kind FROM threads WHERE id = $4)"
_NEW_AUDIENCE = audience_of_ids("$4::bigint", "$5::bigint")


async def create_many(
    connection: asyncpg.Connection,
    recipients: list[tuple[int, str]],
    *,
    community_id: int | None,
    thread_id: int | None,
    post_id: int | None,
    actor_id: int | None,
    data: dict[str, Any] | None = None,
) -> list[Created]:
    """At most one notification per member, in one statement: `recipients` lists (user id, kind) candidates
    in order of preference, and each member gets the first kind they have not switched off. Skips the
    actor, deleted accounts, and members who cannot read the community."""
    if not recipients:
        return []
    records = await connection.fetch(
        f"""INSERT INTO notifications (user_id, kind, community_id, thread_id, post_id, actor_id, data)
            SELECT chosen.user_id, chosen.kind, $3, $4, $5, $6, $7 FROM (
                SELECT DISTINCT ON (r.user_id) r.user_id, r.kind
                FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS r(user_id, kind, position)
                JOIN users nu ON nu.id = r.user_id AND nu.deleted_at IS NULL
                LEFT JOIN communities c ON c.id = $3
                WHERE r.user_id IS DISTINCT FROM $6
                  AND NOT EXISTS (SELECT 1 FROM notification_preferences np
                                  WHERE np.user_id = r.user_id AND np.kind = r.kind AND NOT np.in_app)
                  AND ($3::bigint IS NULL
                       OR {forum_readable_by("c", "r.user_id", "nu.is_admin", _NEW_THREAD_KIND, _NEW_AUDIENCE)})
                ORDER BY r.user_id, r.position) AS chosen
            RETURNING id, user_id, kind""",
        [user_id for user_id, _ in recipients],
        [kind for _, kind in recipients],
        community_id,
        thread_id,
        post_id,
        actor_id,
        data or {},
    )
    return [Created(**dict(record)) for record in records]


def unread_count_sql(user_id: str) -> str:
    """SQL scalar subquery: the unread notifications user `user_id` (an SQL expression) can see, capped at UNREAD_CAP.

    Other queries embed it (the session lookup counts the header's unread notifications in the same round trip).
    """
    return f"""(SELECT count(*) FROM (
                SELECT 1 FROM notifications n
                JOIN users nu ON nu.id = n.user_id
                LEFT JOIN communities c ON c.id = n.community_id
                WHERE n.user_id = {user_id} AND n.read_at IS NULL AND {_VISIBLE}
                LIMIT {UNREAD_CAP}) AS unread)"""


async def unread_count(connection: asyncpg.Connection, user_id: int) -> int:
    """Unread notifications the member can see, capped at UNREAD_CAP: one cheap query for the header."""
    count: int = await connection.fetchval(f"SELECT {unread_count_sql('$1')}", user_id)
    return count


_LIST = f"""n.id, n.kind, n.created_at, n.read_at, n.thread_id, n.post_id, n.data,
    t.title AS thread_title, c.slug AS community_slug, c.name AS community_name,
    {shown_username("a", "am")} AS actor_username, {shown_name("a", "am")} AS actor_display_name"""
# The actor as the notification's community shows them (a pseudonym there hides the account).
_ACTOR = f"LEFT JOIN users a ON a.id = n.actor_id AND a.deleted_at IS NULL {membership_of('am', 'n.community_id', 'a')}"


async def listing(
    connection: asyncpg.Connection, user_id: int, *, before_id: int | None = None, limit: int = 30
) -> list[Notification]:
    """Newest first, keyset-paginated by id."""
    records = await connection.fetch(
        f"""SELECT {_LIST}
            FROM notifications n
            JOIN users nu ON nu.id = n.user_id
            LEFT JOIN communities c ON c.id = n.community_id
            LEFT JOIN threads t ON t.id = n.thread_id
            {_ACTOR}
            WHERE n.user_id = $1 AND ($2::bigint IS NULL OR n.id < $2) AND {_VISIBLE}
            ORDER BY n.id DESC LIMIT $3""",
        user_id,
        before_id,
        limit,
    )
    return [Notification(**dict(record)) for record in records]


async def one(connection: asyncpg.Connection, user_id: int, notification_id: int) -> Notification | None:
    record = await connection.fetchrow(
        f"""SELECT {_LIST}
            FROM notifications n
            JOIN users nu ON nu.id = n.user_id
            LEFT JOIN communities c ON c.id = n.community_id
            LEFT JOIN threads t ON t.id = n.thread_id
            {_ACTOR}
            WHERE n.user_id = $1 AND n.id = $2 AND {_VISIBLE}""",
        user_id,
        notification_id,
    )
    return Notification(**dict(record)) if record else None


async def mark_read(connection: asyncpg.Connection, user_id: int, ids: list[int] | None) -> int:
    """Mark the given notifications (or all when ids is None) read; only the member's own."""
    result = await connection.execute(
        """UPDATE notifications SET read_at = now()
           WHERE user_id = $1 AND read_at IS NULL AND ($2::bigint[] IS NULL OR id = ANY($2))""",
        user_id,
        ids,
    )
    return int(result.split()[-1])


async def preferences(connection: asyncpg.Connection, user_id: int) -> dict[str, Preference]:
    """The member's settings for every kind they can choose (defaults: in-app on, email off except waiting kinds)."""
    records = await connection.fetch(
        """SELECT k.kind, coalesce(np.in_app, true) AS in_app, coalesce(np.email, k.kind = ANY($3)) AS email
           FROM unnest($2::text[]) AS k(kind)
           LEFT JOIN notification_preferences np ON np.user_id = $1 AND np.kind = k.kind""",
        user_id,
        list(PREFERENCE_KINDS),
        list(WAITING_KINDS),
    )
    return {record["kind"]: Preference(**dict(record)) for record in records}


async def set_preferences(connection: asyncpg.Connection, user_id: int, chosen: list[Preference]) -> None:
    await connection.execute(
        """INSERT INTO notification_preferences (user_id, kind, in_app, email)
           SELECT $1, k.kind, k.in_app, k.email FROM unnest($2::text[], $3::boolean[], $4::boolean[]) AS k(kind, in_app, email)
           ON CONFLICT (user_id, kind) DO UPDATE SET in_app = EXCLUDED.in_app, email = EXCLUDED.email""",
        user_id,
        [pref.kind for pref in chosen],
        [pref.in_app for pref in chosen],
        [pref.email for pref in chosen],
    )


# Email is opt-in per kind, except what waits for a leader or admin: opt-out (leaders are never left waiting).
_DIGESTIBLE = f"""n.read_at IS NULL AND n.emailed_at IS NULL AND {_VISIBLE}
    AND (EXISTS (SELECT 1 FROM notification_preferences np WHERE np.user_id = n.user_id AND np.kind = n.kind AND np.email)
         OR (n.kind IN {_WAITING_IN}
             AND NOT EXISTS (SELECT 1 FROM notification_preferences np
                             WHERE np.user_id = n.user_id AND np.kind = n.kind AND NOT np.email)))"""


async def digest_recipients(connection: asyncpg.Connection) -> list[DigestRecipient]:
    """Members with an email address and unread, not yet emailed notifications of kinds they asked email for."""
    records = await connection.fetch(
        f"""SELECT nu.id AS user_id, nu.email, nu.display_name, nu.language FROM users nu
            WHERE nu.email IS NOT NULL AND nu.deleted_at IS NULL
              AND EXISTS (SELECT 1 FROM notifications n LEFT JOIN communities c ON c.id = n.community_id
                          WHERE n.user_id = nu.id AND {_DIGESTIBLE})
            ORDER BY nu.id"""
    )
    return [DigestRecipient(**dict(record)) for record in records]


async def claim_for_digest(connection: asyncpg.Connection, user_id: int) -> list[Notification]:
    """Lock the member's digestible notifications (inside a transaction); another sender skips them."""
    records = await connection.fetch(
        f"""SELECT {_LIST}
            FROM notifications n
            JOIN users nu ON nu.id = n.user_id
            LEFT JOIN communities c ON c.id = n.community_id
            LEFT JOIN threads t ON t.id = n.thread_id
            {_ACTOR}
            WHERE n.user_id = $1 AND {_DIGESTIBLE}
            ORDER BY n.id
            FOR UPDATE OF n SKIP LOCKED""",
        user_id,
    )
    return [Notification(**dict(record)) for record in records]


async def mark_emailed(connection: asyncpg.Connection, ids: list[int]) -> None:
    await connection.execute("UPDATE notifications SET emailed_at = now() WHERE id = ANY($1::bigint[])", ids)


async def members_named(connection: asyncpg.Connection, community_id: int, usernames: list[str]) -> list[int]:
    """Ids of the community's members (not banned, not deleted) among these usernames (case-insensitive)."""
    if not usernames:
        return []
    records = await connection.fetch(
        """SELECT u.id FROM users u
           JOIN memberships m ON m.user_id = u.id AND m.community_id = $1
           WHERE lower(u.username) = ANY($2::text[]) AND u.deleted_at IS NULL
             AND NOT EXISTS (SELECT 1 FROM sanctions s WHERE s.community_id = $1 AND s.user_id = u.id
                             AND s.kind = 'ban' AND s.lifted_at IS NULL AND (s.ends_at IS NULL OR s.ends_at > now()))
           ORDER BY u.id""",
        community_id,
        [name.lower() for name in usernames],
    )
    return [record["id"] for record in records]


@dataclass(frozen=True)
class Mentionable:
    """A member one may @mention in a room, as its community shows them."""

    user_id: int
    alias: int | None
    username: str
    display_name: str
    is_leader: bool


async def mentionable(connection: asyncpg.Connection, room_id: int, prefix: str, limit: int) -> list[Mentionable]:
    """Members of the room's community who may read the room and whose shown name (or, without a
    pseudonym, username) or one of its words starts with `prefix` (case-insensitive), by name."""
    records = await connection.fetch(
        f"""SELECT u.id AS user_id, m.alias, coalesce({shown_username("u", "m")}, '') AS username,
                   {shown_name("u", "m")} AS display_name, m.role = 'leader' AS is_leader
            FROM rooms r
            JOIN communities c ON c.id = r.community_id
            JOIN memberships m ON m.community_id = c.id
            JOIN users u ON u.id = m.user_id AND u.deleted_at IS NULL
            WHERE r.id = $1
              AND ($2 = '' OR lower({shown_name("u", "m")}) LIKE $2 || '%' OR lower({shown_name("u", "m")}) LIKE '% ' || $2 || '%'
                   OR (m.pseudonym IS NULL AND lower(u.username) LIKE $2 || '%'))
              AND {room_readable_by("c", "u.id", "u.is_admin")}
            ORDER BY lower({shown_name("u", "m")}), u.id LIMIT $3""",
        room_id,
        prefix.lower().replace("\\", "").replace("%", "").replace("_", "\\_"),
        limit,
    )
    return [Mentionable(**dict(record)) for record in records]


async def room_readers_named(connection: asyncpg.Connection, room_id: int, names: list[str]) -> list[int]:
    """Members of the room's community who may read the room, named as the community shows them
    (case-insensitive): by pseudonym where they use one there, else by username (never by the
    username behind a pseudonym, which would tell who they are)."""
    if not names:
        return []
    records = await connection.fetch(
        f"""SELECT u.id FROM rooms r
            JOIN communities c ON c.id = r.community_id
            JOIN memberships m ON m.community_id = c.id
            JOIN users u ON u.id = m.user_id AND u.deleted_at IS NULL
            WHERE r.id = $1
              AND (lower(m.pseudonym) = ANY($2::text[]) OR (m.pseudonym IS NULL AND lower(u.username) = ANY($2::text[])))
              AND {room_readable_by("c", "u.id", "u.is_admin")}
            ORDER BY u.id""",
        room_id,
        [name.lower() for name in names],
    )
    return [record["id"] for record in records]


async def settle_item(connection: asyncpg.Connection, community_id: int | None, item: str) -> dict[int, int]:
    """Mark read every unread notification about one waiting item (data.item, e.g. "message:12"), for everyone
    it went to; returns how many per member."""
    records = await connection.fetch(
        """WITH settled AS (
               UPDATE notifications SET read_at = now()
               WHERE community_id IS NOT DISTINCT FROM $1 AND data ? 'item' AND data->>'item' = $2
                 AND read_at IS NULL
               RETURNING user_id)
           SELECT user_id, count(*) AS count FROM settled GROUP BY user_id""",
        community_id,
        item,
    )
    return {record["user_id"]: record["count"] for record in records}


async def waiting_count(connection: asyncpg.Connection, user_id: int, community_id: int) -> int:
    """The member's unread notifications about items waiting in this community's review queue (capped)."""
    count: int = await connection.fetchval(
        f"""SELECT count(*) FROM (
                SELECT 1 FROM notifications n
                WHERE n.user_id = $1 AND n.community_id = $2 AND n.read_at IS NULL AND n.data ? 'item'
                LIMIT {UNREAD_CAP}) AS waiting""",
        user_id,
        community_id,
    )
    return count

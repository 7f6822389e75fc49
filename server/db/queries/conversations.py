"""SQL for private conversations: messages numbered like a room's (gap-free seq, one client id per author), reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.db.queries.messages import Message, Stored, store_numbered

# A conversation message as the room machinery knows one (server.db.queries.messages.Message; room_id is the
# conversation's id), its author under the name shown in the conversation's community (names.py).
_SELECT = """
    SELECT m.id, m.conversation_id AS room_id, m.seq, m.author_id,
           CASE WHEN ms.pseudonym IS NULL THEN coalesce(u.username, '') ELSE '' END AS author_username,
           coalesce(ms.pseudonym, CASE WHEN u.deleted_at IS NULL THEN u.display_name END, 'Former member')
               AS author_display_name,
           false AS author_is_leader, false AS author_is_expert, false AS author_is_admin,
           m.client_msg_id, m.body, 'visible' AS state, '' AS state_reason, m.created_at, NULL::timestamptz AS edited_at,
           ms.alias AS author_alias
    FROM conversation_messages m
    JOIN family_connections fc ON fc.id = m.conversation_id
    LEFT JOIN users u ON u.id = m.author_id
    LEFT JOIN memberships ms ON ms.community_id = fc.community_id AND ms.user_id = m.author_id
"""


def _message(row: asyncpg.Record) -> Message:
    return Message(**dict(row))


async def by_client_id(
    connection: asyncpg.Connection, conversation_id: int, author_id: int, client_msg_id: str
) -> Message | None:
    row = await connection.fetchrow(
        _SELECT + " WHERE m.conversation_id = $1 AND m.author_id = $2 AND m.client_msg_id = $3",
        conversation_id,
        author_id,
        client_msg_id,
    )
    return _message(row) if row else None


async def recent(
    connection: asyncpg.Connection, conversation_id: int, *, limit: int, up_to: int | None = None
) -> list[Message]:
    """The latest messages (up to seq `up_to` when given), oldest first."""
    rows = await connection.fetch(
        "SELECT * FROM ("
        + _SELECT
        + """ WHERE m.conversation_id = $1 AND ($3::bigint IS NULL OR m.seq <= $3)
              ORDER BY m.seq DESC LIMIT $2) latest ORDER BY seq""",
        conversation_id,
        limit,
        up_to,
    )
    return [_message(row) for row in rows]


async def in_range(connection: asyncpg.Connection, conversation_id: int, since: int, until: int) -> list[Message]:
    """Every message with since < seq <= until (a resume)."""
    rows = await connection.fetch(
        _SELECT + " WHERE m.conversation_id = $1 AND m.seq > $2 AND m.seq <= $3 ORDER BY m.seq",
        conversation_id,
        since,
        until,
    )
    return [_message(row) for row in rows]


async def store_next(
    connection: asyncpg.Connection,
    conversation_id: int,
    author_id: int,
    client_msg_id: str,
    body: str,
    *,
    other_present: bool = False,
) -> Stored | None:
    """Number and store a message in one statement, as messages.store_next does for rooms: the UPDATE locks
    the conversation (sends numbered one at a time), only while it is open (accepted), and a duplicate client
    id undoes the whole statement, so no seq is skipped. None for a duplicate or a conversation that ended.
    The author has read their own message; the other participant too when they have the conversation open."""
    return await store_numbered(
        connection,
        """WITH next AS (UPDATE family_connections SET last_seq = last_seq + 1,
                                requester_read_seq = CASE WHEN requester_id = $2 OR $5 THEN last_seq + 1
                                                          ELSE requester_read_seq END,
                                addressee_read_seq = CASE WHEN addressee_id = $2 OR $5 THEN last_seq + 1
                                                          ELSE addressee_read_seq END
                         WHERE id = $1 AND status = 'accepted'
                         RETURNING last_seq, epoch)
           INSERT INTO conversation_messages (conversation_id, seq, author_id, client_msg_id, body)
           SELECT $1, next.last_seq, $2, $3, $4 FROM next
           RETURNING id, seq, (SELECT epoch FROM next) AS epoch, 'visible' AS state, created_at""",
        conversation_id,
        author_id,
        client_msg_id,
        body,
        other_present,
    )


async def mark_read(connection: asyncpg.Connection, conversation_id: int, reader_id: int, seq: int) -> None:
    """The reader has been shown every message up to `seq` (never beyond the head, never back)."""
    await connection.execute(
        """UPDATE family_connections
           SET requester_read_seq = CASE WHEN requester_id = $2 THEN greatest(requester_read_seq, least($3, last_seq))
                                         ELSE requester_read_seq END,
               addressee_read_seq = CASE WHEN addressee_id = $2 THEN greatest(addressee_read_seq, least($3, last_seq))
                                         ELSE addressee_read_seq END
           WHERE id = $1 AND $2 IN (requester_id, addressee_id)""",
        conversation_id,
        reader_id,
        seq,
    )


async def heads(connection: asyncpg.Connection, conversation_ids: list[int]) -> dict[int, tuple[str, int]]:
    """Epoch and head seq of open conversations (after a Redis reconnect)."""
    rows = await connection.fetch(
        "SELECT id, epoch, last_seq FROM family_connections WHERE id = ANY($1::bigint[])", conversation_ids
    )
    return {row["id"]: (row["epoch"], row["last_seq"]) for row in rows}


# --- reports ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    id: int
    conversation_id: int
    community_name: str
    reason: str
    up_to_seq: int
    created_at: datetime
    resolved_at: datetime | None
    reporter_name: str


async def create_report(connection: asyncpg.Connection, conversation_id: int, reporter_id: int, reason: str) -> int:
    value: int = await connection.fetchval(
        """INSERT INTO conversation_reports (conversation_id, reporter_id, reason, up_to_seq)
           SELECT $1, $2, $3, last_seq FROM family_connections WHERE id = $1 RETURNING id""",
        conversation_id,
        reporter_id,
        reason,
    )
    return value


# Admins see the reporter by the name of the conversation's community too (they may reveal it as leaders do).
_REPORT = """SELECT r.id, r.conversation_id, c.name AS community_name, r.reason, r.up_to_seq, r.created_at,
                    r.resolved_at, coalesce(ms.pseudonym, u.display_name, 'Former member') AS reporter_name
             FROM conversation_reports r
             JOIN family_connections fc ON fc.id = r.conversation_id
             JOIN communities c ON c.id = fc.community_id
             LEFT JOIN users u ON u.id = r.reporter_id
             LEFT JOIN memberships ms ON ms.community_id = fc.community_id AND ms.user_id = r.reporter_id"""


async def reports(connection: asyncpg.Connection, *, limit: int = 100) -> list[Report]:
    rows = await connection.fetch(_REPORT + " ORDER BY r.resolved_at IS NOT NULL, r.id DESC LIMIT $1", limit)
    return [Report(**dict(row)) for row in rows]


async def report(connection: asyncpg.Connection, report_id: int) -> Report | None:
    row = await connection.fetchrow(_REPORT + " WHERE r.id = $1", report_id)
    return Report(**dict(row)) if row else None


async def resolve_report(connection: asyncpg.Connection, report_id: int, admin_id: int) -> bool:
    done = await connection.fetchval(
        "UPDATE conversation_reports SET resolved_at = now(), resolved_by = $2 WHERE id = $1 AND resolved_at IS NULL RETURNING true",
        report_id,
        admin_id,
    )
    return bool(done)


async def admin_ids(connection: asyncpg.Connection) -> list[int]:
    rows = await connection.fetch("SELECT id FROM users WHERE is_admin AND deleted_at IS NULL")
    return [row["id"] for row in rows]


async def has_unread_notice(connection: asyncpg.Connection, user_id: int, conversation_id: int) -> bool:
    """The member already has an unread notification about new messages in this conversation."""
    found = await connection.fetchval(
        """SELECT true FROM notifications WHERE user_id = $1 AND kind = 'conversation' AND read_at IS NULL
           AND data->>'event' = 'message' AND data->>'conversation' = $2::text LIMIT 1""",
        user_id,
        str(conversation_id),
    )
    return bool(found)

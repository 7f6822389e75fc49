"""SQL for room messages: gap-free numbering, idempotent inserts, history and resume reads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.db.queries.message_reactions import Reactor, reactors_json
from server.db.queries.names import shown_id


@dataclass(frozen=True)
class Message:
    id: int
    room_id: int
    seq: int
    author_id: int | None
    author_username: str
    author_display_name: str
    author_is_leader: bool
    client_msg_id: str
    body: str
    state: str
    state_reason: str
    created_at: datetime
    edited_at: datetime | None
    # Set while the author uses a pseudonym in this community: the number that stands for them in
    # frames instead of their account id (and author_username is then empty).
    author_alias: int | None = None
    author_is_expert: bool = False
    author_is_admin: bool = False
    # A reply: the seq of the message it answers, and that message's shown author and excerpt while it is
    # visible (both None once it is removed, deleted or held: the quote then reads "message removed").
    reply_to_seq: int | None = None
    reply_to_author: str | None = None
    reply_to_excerpt: str | None = None
    # Who reacted how, in the order they reacted: read with history (never on the send path, which has none).
    reactions: tuple[Reactor, ...] = ()

    @property
    def shown_author_id(self) -> int | None:
        """The author's id as pages and frames show it (names.shown_id)."""
        return shown_id(self.author_id, self.author_alias) if self.author_id is not None else None


# A reply quotes this much of the message it answers.
EXCERPT_CHARS = 200

# Author names come from the users row (a deleted account shows as "Former member"), or the
# author's pseudonym in the room's community (server/db/queries/names.py).
_COLUMNS = """
    SELECT m.id, m.room_id, m.seq, m.author_id,
           CASE WHEN ms.pseudonym IS NULL THEN coalesce(u.username, '') ELSE '' END AS author_username,
           coalesce(ms.pseudonym, CASE WHEN u.deleted_at IS NULL THEN u.display_name END, 'Former member')
               AS author_display_name,
           coalesce(ms.role = 'leader', false) AS author_is_leader,
           -- Site-wide badges point at the account: none under a pseudonym.
           coalesce(u.is_expert AND u.deleted_at IS NULL AND ms.pseudonym IS NULL, false) AS author_is_expert,
           coalesce(u.is_admin AND u.deleted_at IS NULL AND ms.pseudonym IS NULL, false) AS author_is_admin,
           m.client_msg_id, m.body, m.state, m.state_reason, m.created_at, m.edited_at,
           ms.alias AS author_alias"""
# A reply's quote: the message it answers, as it is now.
_QUOTE_COLUMNS = f""",
           p.seq AS reply_to_seq,
           CASE WHEN p.state = 'visible' THEN
               coalesce(pms.pseudonym, CASE WHEN pu.deleted_at IS NULL THEN pu.display_name END, 'Former member')
           END AS reply_to_author,
           CASE WHEN p.state = 'visible' THEN left(p.body, {EXCERPT_CHARS}) END AS reply_to_excerpt
"""
_FROM = """
    FROM room_messages m
    JOIN rooms r ON r.id = m.room_id
    LEFT JOIN users u ON u.id = m.author_id
    LEFT JOIN memberships ms ON ms.community_id = r.community_id AND ms.user_id = m.author_id
"""
_QUOTE_FROM = """
    LEFT JOIN room_messages p ON p.id = m.reply_to_id
    LEFT JOIN users pu ON pu.id = p.author_id
    LEFT JOIN memberships pms ON pms.community_id = r.community_id AND pms.user_id = p.author_id
"""
_SELECT = _COLUMNS + _QUOTE_COLUMNS + _FROM + _QUOTE_FROM
# History reads (a page, a join, a resume) also carry each message's reactions, in the same round trip.
_SELECT_WITH_REACTIONS = (
    _COLUMNS + _QUOTE_COLUMNS + f", {reactors_json('m.id', 'r.community_id')} AS reactions" + _FROM + _QUOTE_FROM
)
# The send path's idempotency check, run before every new message: the answer needs only the seq and
# time of a message already stored, so it reads no quote (the statement costs what it did before replies).
_SELECT_PLAIN = _COLUMNS + _FROM


def _message(row: asyncpg.Record) -> Message:
    values = dict(row)
    if "reactions" in values:
        values["reactions"] = tuple(Reactor(**item) for item in json.loads(values["reactions"] or "[]"))
    return Message(**values)


async def by_client_id(
    connection: asyncpg.Connection, room_id: int, author_id: int, client_msg_id: str
) -> Message | None:
    row = await connection.fetchrow(
        _SELECT_PLAIN + " WHERE m.room_id = $1 AND m.author_id = $2 AND m.client_msg_id = $3",
        room_id,
        author_id,
        client_msg_id,
    )
    return _message(row) if row else None


async def by_id(connection: asyncpg.Connection, message_id: int) -> Message | None:
    row = await connection.fetchrow(_SELECT + " WHERE m.id = $1", message_id)
    return _message(row) if row else None


async def by_seq(connection: asyncpg.Connection, room_id: int, seq: int) -> Message | None:
    row = await connection.fetchrow(_SELECT + " WHERE m.room_id = $1 AND m.seq = $2", room_id, seq)
    return _message(row) if row else None


async def after(
    connection: asyncpg.Connection,
    room_id: int,
    since: int,
    *,
    viewer_id: int | None,
    include_removed: bool,
    limit: int,
) -> list[Message]:
    """Messages after `since` in sequence order, as this viewer may see them (resume and catch-up)."""
    rows = await connection.fetch(
        _SELECT_WITH_REACTIONS
        + """ WHERE m.room_id = $1 AND m.seq > $2
              AND (m.state = 'visible' OR ($3 AND m.state <> 'deleted') OR (m.state = 'held' AND m.author_id = $4))
              ORDER BY m.seq LIMIT $5""",
        room_id,
        since,
        include_removed,
        viewer_id,
        limit,
    )
    return [_message(row) for row in rows]


async def by_ids(connection: asyncpg.Connection, message_ids: list[int]) -> list[Message]:
    """Messages by id, in seq order, whatever their state (callers decide what may be shown)."""
    rows = await connection.fetch(_SELECT + " WHERE m.id = ANY($1::bigint[]) ORDER BY m.seq", message_ids)
    return [_message(row) for row in rows]


async def visible_by_seqs(connection: asyncpg.Connection, room_id: int, seqs: list[int]) -> list[Message]:
    """The visible messages of a room among these seqs, in seq order."""
    rows = await connection.fetch(
        _SELECT + " WHERE m.room_id = $1 AND m.seq = ANY($2::bigint[]) AND m.state = 'visible' ORDER BY m.seq",
        room_id,
        seqs,
    )
    return [_message(row) for row in rows]


async def recent(
    connection: asyncpg.Connection, room_id: int, *, viewer_id: int | None, include_removed: bool, limit: int
) -> list[Message]:
    """The latest messages a viewer may see, oldest first (the room page's server-rendered history)."""
    rows = await connection.fetch(
        "SELECT * FROM ("
        + _SELECT_WITH_REACTIONS
        + """ WHERE m.room_id = $1
              AND (m.state = 'visible' OR ($2 AND m.state <> 'deleted') OR (m.state = 'held' AND m.author_id = $3))
              ORDER BY m.seq DESC LIMIT $4) latest ORDER BY seq""",
        room_id,
        include_removed,
        viewer_id,
        limit,
    )
    return [_message(row) for row in rows]


# The room's head when a message changes after it was sent: a resume from a seq at or below it is sent
# the message's new state (chat.replay).
_CHANGED_AT = "changed_at_seq = (SELECT last_seq FROM rooms WHERE rooms.id = room_messages.room_id)"


async def set_state(
    connection: asyncpg.Connection, message_id: int, state: str, reason: str, changed_by: int
) -> Message | None:
    await connection.execute(
        f"UPDATE room_messages SET state = $2, state_reason = $3, state_changed_by = $4, {_CHANGED_AT} WHERE id = $1",
        message_id,
        state,
        reason,
        changed_by,
    )
    return await by_id(connection, message_id)


async def in_range(connection: asyncpg.Connection, room_id: int, since: int, until: int) -> list[Message]:
    """Every message with since < seq <= until, whatever its state (the resume path decides what to show)."""
    rows = await connection.fetch(
        _SELECT_WITH_REACTIONS + " WHERE m.room_id = $1 AND m.seq > $2 AND m.seq <= $3 ORDER BY m.seq",
        room_id,
        since,
        until,
    )
    return [_message(row) for row in rows]


def visible_to(message: Message, viewer_id: int | None, *, moderator: bool) -> bool:
    """Members see visible messages and their own held ones; leaders also see removed ones, marked."""
    if message.state == "visible":
        return True
    if message.state == "held":
        return moderator or (viewer_id is not None and message.author_id == viewer_id)
    return moderator and message.state == "hidden"


@dataclass(frozen=True)
class Stored:
    id: int
    seq: int
    epoch: str
    state: str
    created_at: datetime


async def store_next(
    connection: asyncpg.Connection,
    room_id: int,
    author_id: int,
    client_msg_id: str,
    body: str,
    state: str,
    reply_to_id: int | None = None,
) -> Stored | None:
    """Number and store a message in one statement (one round trip, its own transaction).

    The UPDATE locks the room row, so sends to a room are numbered one at a time. A concurrent
    retry with the same client id fails on the unique index instead, and because the whole
    statement is undone, its sequence number is never taken: numbering stays gap-free.
    Returns None for such a duplicate (the caller reads the stored one).
    """
    return await store_numbered(
        connection,
        """WITH next AS (UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq, epoch)
           INSERT INTO room_messages (room_id, seq, author_id, client_msg_id, body, state, reply_to_id)
           SELECT $1, next.last_seq, $2, $3, $4, $5, $6 FROM next
           RETURNING id, seq, (SELECT epoch FROM next) AS epoch, state, created_at""",
        room_id,
        author_id,
        client_msg_id,
        body,
        state,
        reply_to_id,
    )


async def store_numbered(connection: asyncpg.Connection, statement: str, *args: object) -> Stored | None:
    """Run a numbering statement shaped like store_next's (UPDATE the counter, INSERT at its new value,
    RETURNING a Stored's columns): None for a duplicate client id, or when no row was numbered."""
    try:
        row = await connection.fetchrow(statement, *args)
    except asyncpg.UniqueViolationError:
        return None
    return Stored(**dict(row)) if row else None


async def edit(connection: asyncpg.Connection, message_id: int, body: str) -> datetime | None:
    """Replace a visible message's text, keeping the text it replaces; None if it is not visible (any more)."""
    edited_at: datetime | None = await connection.fetchval(
        f"""WITH old AS (SELECT id, body, coalesce(edited_at, created_at) AS written_at FROM room_messages
                         WHERE id = $1 AND state = 'visible' AND body <> $2 FOR UPDATE),
                 kept AS (INSERT INTO room_message_edits (message_id, body, written_at)
                          SELECT id, body, written_at FROM old)
            UPDATE room_messages SET body = $2, edited_at = now(), {_CHANGED_AT}
            FROM old WHERE room_messages.id = old.id
            RETURNING room_messages.edited_at""",
        message_id,
        body,
    )
    return edited_at


async def delete(connection: asyncpg.Connection, message_id: int, author_id: int) -> bool:
    """The author deletes their message: nobody sees it any more (True if it was not deleted already)."""
    result = await connection.execute(
        f"""UPDATE room_messages SET state = 'deleted', state_changed_by = $2, {_CHANGED_AT}
            WHERE id = $1 AND state <> 'deleted'""",
        message_id,
        author_id,
    )
    return result != "UPDATE 0"


@dataclass(frozen=True)
class Version:
    """An earlier text of an edited message, and when it was written."""

    body: str
    written_at: datetime


async def versions(connection: asyncpg.Connection, message_id: int) -> list[Version]:
    """Every earlier text of a message, oldest first (leaders read them)."""
    rows = await connection.fetch(
        "SELECT body, written_at FROM room_message_edits WHERE message_id = $1 ORDER BY id", message_id
    )
    return [Version(**dict(row)) for row in rows]


async def changed_since(connection: asyncpg.Connection, room_id: int, since: int, limit: int) -> list[Message]:
    """Messages up to `since` that changed when the room's head was `since` or later (a resume re-sends them)."""
    rows = await connection.fetch(
        _SELECT_WITH_REACTIONS
        + """ WHERE m.room_id = $1 AND m.seq <= $2 AND m.changed_at_seq >= $2
              ORDER BY m.seq LIMIT $3""",
        room_id,
        since,
        limit,
    )
    return [_message(row) for row in rows]

"""SQL for reactions on live-room messages: the forum's set, one per member per message, with reactors' shown names."""

from __future__ import annotations

import json
from dataclasses import dataclass

import asyncpg

from server.db.queries.names import membership_of, shown_id, shown_name, shown_username


@dataclass(frozen=True)
class Reactor:
    """One member's reaction to a message, as the room's community shows them (pseudonyms respected)."""

    message_id: int
    kind: str
    user_id: int
    alias: int | None
    username: str
    display_name: str
    is_leader: bool

    @property
    def shown_user_id(self) -> int:
        return shown_id(self.user_id, self.alias)


def reactors_json(message_id: str, community_id: str) -> str:
    """SQL scalar subquery: the reactors of message `message_id` as a JSON array of Reactor fields, by
    `community_id`'s names (history reads embed it, so reactions cost no round trip of their own)."""
    return f"""(SELECT json_agg(json_build_object(
                   'message_id', x.message_id, 'kind', x.kind, 'user_id', xu.id, 'alias', xms.alias,
                   'username', coalesce({shown_username("xu", "xms")}, ''),
                   'display_name', {shown_name("xu", "xms")},
                   'is_leader', coalesce(xms.role = 'leader', false)) ORDER BY x.created_at, xu.id)
                FROM room_message_reactions x
                JOIN users xu ON xu.id = x.user_id AND xu.deleted_at IS NULL
                {membership_of("xms", community_id, "xu")}
                WHERE x.message_id = {message_id})"""


async def current(connection: asyncpg.Connection, message_id: int, user_id: int) -> str | None:
    kind: str | None = await connection.fetchval(
        "SELECT kind FROM room_message_reactions WHERE message_id = $1 AND user_id = $2", message_id, user_id
    )
    return kind


async def put(connection: asyncpg.Connection, message_id: int, user_id: int, kind: str) -> None:
    await connection.execute(
        """INSERT INTO room_message_reactions (message_id, user_id, kind) VALUES ($1, $2, $3)
           ON CONFLICT (message_id, user_id) DO UPDATE SET kind = EXCLUDED.kind, created_at = now()""",
        message_id,
        user_id,
        kind,
    )


async def remove(connection: asyncpg.Connection, message_id: int, user_id: int, kind: str) -> None:
    await connection.execute(
        "DELETE FROM room_message_reactions WHERE message_id = $1 AND user_id = $2 AND kind = $3",
        message_id,
        user_id,
        kind,
    )


async def touch(connection: asyncpg.Connection, message_id: int) -> None:
    """Mark the message changed at the room's head, so a resume from before now is sent its reactions."""
    await connection.execute(
        """UPDATE room_messages SET changed_at_seq = (SELECT last_seq FROM rooms WHERE rooms.id = room_messages.room_id)
           WHERE id = $1""",
        message_id,
    )


async def of_message(connection: asyncpg.Connection, message_id: int) -> list[Reactor]:
    """Who reacted how to one message, in the order they reacted (deleted accounts left out)."""
    raw = await connection.fetchval(
        f"SELECT {reactors_json('m.id', 'r.community_id')} FROM room_messages m JOIN rooms r ON r.id = m.room_id"
        " WHERE m.id = $1",
        message_id,
    )
    return [Reactor(**item) for item in json.loads(raw or "[]")]

"""SQL for memberships and a member's standing in a community (role, mute, ban)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from server.db.queries.names import handle, shown_name, shown_username
from server.db.queries.users import User, user_columns, user_from_row


@dataclass(frozen=True)
class Standing:
    """Everything authorization needs to know about one user in one community, in one query."""

    role: str | None  # None: not a member; 'member' or 'leader'
    is_admin: bool
    approved_posts: int
    muted_until: datetime | None  # set while a mute is in force (far future for an open-ended mute)
    mute_reason: str
    banned: bool
    ban_reason: str
    # The community holds this member's posts and chat messages for a leader's approval
    # (first-post hold: on for new members until enough of their posts were approved).
    needs_review: bool = False
    # The name this member chose for this community (None: their display name), and the random alias
    # that stands for them in live frames while they use it.
    pseudonym: str | None = None
    alias: int | None = None
    # The mute in force is for one room only (a room's standing counts it; the community's does not).
    mute_room_id: int | None = None


NO_STANDING = Standing(None, False, 0, None, "", False, "")


def standing_sql(community_id: str, user_id: str, room_id: str = "NULL") -> str:
    """SQL: the one-row standing of user `user_id` in community `community_id` (SQL expressions), no row when
    either is missing; with `room_id`, the standing in that room (a mute scoped to it counts too). Other queries embed it as a lateral join (a thread with its reader's standing, in one
    round trip); its own aliases start with "st_" so they never hide the outer query's."""
    return f"""SELECT st_m.role, st_u.is_admin, coalesce(st_m.approved_posts, 0) AS approved_posts,
                  st_mute.ends_at AS mute_ends, st_mute.id AS mute_id, coalesce(st_mute.reason, '') AS mute_reason,
                  st_mute.room_id AS mute_room_id,
                  st_ban.id AS ban_id, coalesce(st_ban.reason, '') AS ban_reason,
                  (st_c.hold_first_posts AND coalesce(st_m.approved_posts, 0) < st_c.hold_release_after
                   AND coalesce(st_m.role, '') <> 'leader' AND NOT st_u.is_admin
                   AND NOT st_u.is_expert) AS needs_review,
                  st_m.pseudonym, st_m.alias
           FROM users st_u
           JOIN communities st_c ON st_c.id = {community_id}
           LEFT JOIN memberships st_m ON st_m.community_id = st_c.id AND st_m.user_id = st_u.id
           LEFT JOIN LATERAL (
               SELECT id, ends_at, reason, room_id FROM sanctions
               WHERE community_id = st_c.id AND user_id = st_u.id AND kind = 'mute' AND lifted_at IS NULL
                 AND (ends_at IS NULL OR ends_at > now()) AND (room_id IS NULL OR room_id = {room_id})
               ORDER BY ends_at DESC NULLS FIRST, room_id NULLS FIRST LIMIT 1) st_mute ON true
           LEFT JOIN LATERAL (
               SELECT id, reason FROM sanctions
               WHERE community_id = st_c.id AND user_id = st_u.id AND kind = 'ban' AND lifted_at IS NULL
                 AND (ends_at IS NULL OR ends_at > now())
               ORDER BY id DESC LIMIT 1) st_ban ON true
           WHERE st_u.id = {user_id}"""


# The columns standing_sql gives.
_STANDING_COLUMNS = (
    "role",
    "is_admin",
    "approved_posts",
    "mute_ends",
    "mute_id",
    "mute_reason",
    "mute_room_id",
    "ban_id",
    "ban_reason",
    "needs_review",
    "pseudonym",
    "alias",
)


def standing_columns(alias: str) -> str:
    """The select list of a query that joins standing_sql under `alias`: each column as standing__<name>."""
    return ", ".join(f"{alias}.{name} AS standing__{name}" for name in _STANDING_COLUMNS)


def pop_standing(values: dict[str, Any]) -> Standing:
    """Take standing_columns' values out of a row's dict (leaving the rest) and make them a Standing."""
    return standing_from_values({name: values.pop(f"standing__{name}") for name in _STANDING_COLUMNS})


def standing_from_values(values: asyncpg.Record | Mapping[str, Any] | None) -> Standing:
    """A Standing from standing_sql's columns; NO_STANDING when there was no row (no such user or community)."""
    if values is None or values["is_admin"] is None:  # is_admin is NOT NULL: None means a left join found no row
        return NO_STANDING
    muted_until = values["mute_ends"] if values["mute_id"] is not None else None
    if values["mute_id"] is not None and muted_until is None:
        muted_until = datetime.max.replace(tzinfo=datetime.now().astimezone().tzinfo)
    return Standing(
        role=values["role"],
        is_admin=values["is_admin"],
        approved_posts=values["approved_posts"],
        muted_until=muted_until,
        mute_reason=values["mute_reason"],
        banned=values["ban_id"] is not None,
        ban_reason=values["ban_reason"],
        needs_review=bool(values["needs_review"]),
        pseudonym=values["pseudonym"],
        alias=values["alias"],
        mute_room_id=values["mute_room_id"],
    )


async def standing(
    connection: asyncpg.Connection, community_id: int, user_id: int, room_id: int | None = None
) -> Standing:
    """The member's standing in the community, or in one of its rooms (room-scoped mutes count there)."""
    if room_id is None:
        return standing_from_values(await connection.fetchrow(standing_sql("$1", "$2"), community_id, user_id))
    return standing_from_values(
        await connection.fetchrow(standing_sql("$1", "$2", "$3::bigint"), community_id, user_id, room_id)
    )


async def join(connection: asyncpg.Connection, community_id: int, user_id: int) -> bool:
    """Add a member; False when already one."""
    inserted = await connection.fetchval(
        """INSERT INTO memberships (community_id, user_id) VALUES ($1, $2)
           ON CONFLICT DO NOTHING RETURNING true""",
        community_id,
        user_id,
    )
    if inserted:
        await connection.execute("UPDATE communities SET member_count = member_count + 1 WHERE id = $1", community_id)
    return bool(inserted)


async def leave(connection: asyncpg.Connection, community_id: int, user_id: int) -> bool:
    deleted = await connection.fetchval(
        "DELETE FROM memberships WHERE community_id = $1 AND user_id = $2 RETURNING true", community_id, user_id
    )
    if deleted:
        await connection.execute("UPDATE communities SET member_count = member_count - 1 WHERE id = $1", community_id)
    return bool(deleted)


async def set_role(connection: asyncpg.Connection, community_id: int, user_id: int, role: str) -> bool:
    result = await connection.execute(
        "UPDATE memberships SET role = $3 WHERE community_id = $1 AND user_id = $2", community_id, user_id, role
    )
    return result.endswith(" 1")


@dataclass(frozen=True)
class Leader:
    user_id: int
    username: str | None  # None under a pseudonym
    display_name: str
    handle: str = ""  # for URLs: names.handle


async def leaders(connection: asyncpg.Connection, community_id: int) -> list[Leader]:
    rows = await connection.fetch(
        f"""SELECT u.id AS user_id, {shown_username("u", "m")} AS username, {shown_name("u", "m")} AS display_name,
                  {handle("u", "m")} AS handle
           FROM memberships m JOIN users u ON u.id = m.user_id
           WHERE m.community_id = $1 AND m.role = 'leader' AND u.deleted_at IS NULL
           ORDER BY m.joined_at, u.id""",
        community_id,
    )
    return [Leader(**dict(row)) for row in rows]


async def was_removed_as_leader(connection: asyncpg.Connection, community_id: int, user_id: int) -> bool:
    found = await connection.fetchval(
        """SELECT true FROM moderation_actions
           WHERE community_id = $1 AND target_user_id = $2 AND action = 'leader_removed' LIMIT 1""",
        community_id,
        user_id,
    )
    return bool(found)


@dataclass(frozen=True)
class Member:
    user_id: int
    username: str | None  # None under a pseudonym
    display_name: str
    role: str
    joined_at: datetime
    handle: str = ""  # for URLs: names.handle
    pseudonymous: bool = False


async def members(connection: asyncpg.Connection, community_id: int, *, limit: int = 500) -> list[Member]:
    """The community's members for its leaders' list: leaders first, then by the name shown here."""
    rows = await connection.fetch(
        f"""SELECT u.id AS user_id, {shown_username("u", "m")} AS username, {shown_name("u", "m")} AS display_name,
                  m.role, m.joined_at, {handle("u", "m")} AS handle, m.pseudonym IS NOT NULL AS pseudonymous
           FROM memberships m JOIN users u ON u.id = m.user_id
           WHERE m.community_id = $1 AND u.deleted_at IS NULL
           ORDER BY m.role = 'leader' DESC, lower({shown_name("u", "m")}), u.id LIMIT $2""",
        community_id,
        limit,
    )
    return [Member(**dict(row)) for row in rows]


async def user_by_handle(connection: asyncpg.Connection, community_id: int, member_handle: str) -> User | None:
    """The account (not deleted) behind a handle of this community (names.handle): a username, or "~<alias>"."""
    if member_handle.startswith("~"):
        alias = member_handle[1:]
        if not alias.isdigit() or len(alias) > 18:
            return None
        row = await connection.fetchrow(
            f"""SELECT {user_columns("u")} FROM memberships m JOIN users u ON u.id = m.user_id
                WHERE m.community_id = $1 AND m.alias = $2 AND u.deleted_at IS NULL""",
            community_id,
            int(alias),
        )
    else:
        row = await connection.fetchrow(
            f"SELECT {user_columns('u')} FROM users u WHERE lower(u.username) = lower($1) AND u.deleted_at IS NULL",
            member_handle,
        )
    return user_from_row(row) if row else None


async def set_pseudonym(
    connection: asyncpg.Connection, community_id: int, user_id: int, pseudonym: str | None, alias: int | None
) -> bool:
    """Set (or clear, with None) a member's pseudonym here; False when another member already uses it."""
    try:
        async with connection.transaction():
            done = await connection.fetchval(
                """UPDATE memberships SET pseudonym = $3, alias = CASE WHEN $3::text IS NULL THEN NULL ELSE $4::bigint END
                   WHERE community_id = $1 AND user_id = $2 RETURNING true""",
                community_id,
                user_id,
                pseudonym,
                alias,
            )
    except asyncpg.UniqueViolationError:
        return False
    return bool(done)

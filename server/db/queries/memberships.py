"""SQL for memberships and a member's standing in a community (role, mute, ban)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


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


async def standing(connection: asyncpg.Connection, community_id: int, user_id: int) -> Standing:
    row = await connection.fetchrow(
        """SELECT m.role, u.is_admin, coalesce(m.approved_posts, 0) AS approved_posts,
                  mute.ends_at AS mute_ends, mute.id AS mute_id, coalesce(mute.reason, '') AS mute_reason,
                  ban.id AS ban_id, coalesce(ban.reason, '') AS ban_reason,
                  (c.hold_first_posts AND coalesce(m.approved_posts, 0) < c.hold_release_after
                   AND coalesce(m.role, '') <> 'leader' AND NOT u.is_admin) AS needs_review
           FROM users u
           JOIN communities c ON c.id = $1
           LEFT JOIN memberships m ON m.community_id = $1 AND m.user_id = u.id
           LEFT JOIN LATERAL (
               SELECT id, ends_at, reason FROM sanctions
               WHERE community_id = $1 AND user_id = u.id AND kind = 'mute' AND lifted_at IS NULL
                 AND (ends_at IS NULL OR ends_at > now())
               ORDER BY ends_at DESC NULLS FIRST LIMIT 1) mute ON true
           LEFT JOIN LATERAL (
               SELECT id, reason FROM sanctions
               WHERE community_id = $1 AND user_id = u.id AND kind = 'ban' AND lifted_at IS NULL
                 AND (ends_at IS NULL OR ends_at > now())
               ORDER BY id DESC LIMIT 1) ban ON true
           WHERE u.id = $2""",
        community_id,
        user_id,
    )
    if row is None:
        return Standing(None, False, 0, None, "", False, "")
    muted_until = row["mute_ends"] if row["mute_id"] is not None else None
    if row["mute_id"] is not None and muted_until is None:
        muted_until = datetime.max.replace(tzinfo=datetime.now().astimezone().tzinfo)
    return Standing(
        role=row["role"],
        is_admin=row["is_admin"],
        approved_posts=row["approved_posts"],
        muted_until=muted_until,
        mute_reason=row["mute_reason"],
        banned=row["ban_id"] is not None,
        ban_reason=row["ban_reason"],
        needs_review=bool(row["needs_review"]),
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
    username: str
    display_name: str


async def leaders(connection: asyncpg.Connection, community_id: int) -> list[Leader]:
    rows = await connection.fetch(
        """SELECT u.id AS user_id, u.username, u.display_name FROM memberships m JOIN users u ON u.id = m.user_id
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
    username: str
    display_name: str
    role: str
    joined_at: datetime


async def members(connection: asyncpg.Connection, community_id: int, *, limit: int = 500) -> list[Member]:
    """The community's members for its leaders' list: leaders first, then by name."""
    rows = await connection.fetch(
        """SELECT u.id AS user_id, u.username, u.display_name, m.role, m.joined_at
           FROM memberships m JOIN users u ON u.id = m.user_id
           WHERE m.community_id = $1 AND u.deleted_at IS NULL
           ORDER BY m.role = 'leader' DESC, lower(u.display_name), u.id LIMIT $2""",
        community_id,
        limit,
    )
    return [Member(**dict(row)) for row in rows]

"""Leaders moderate members: timed mutes, bans, slow mode; every action on the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from server.actions import events
from server.actions.access import Actor, actor_for, require_moderator, require_outranks
from server.actions.thread_moderation import tell_author
from server.db.queries import audit, communities, memberships, rooms, sanctions, users
from server.db.queries.memberships import Member
from server.db.queries.rooms import Room
from server.db.queries.sanctions import Sanction
from server.db.queries.users import User
from server.errors import bad_request, not_found
from server.i18n import _

# Durations a leader picks from (minutes); "until lifted" is None.
MUTE_CHOICES = {"15m": 15, "1h": 60, "24h": 24 * 60, "7d": 7 * 24 * 60}
MAX_REASON = 500


@dataclass(frozen=True)
class Target:
    user: User
    actor: Actor


async def _target(connection: asyncpg.Connection, moderator: Actor, username: str) -> Target:
    """The member a leader's form is about, by username or, under a pseudonym, by its handle ("~<alias>")."""
    user = await memberships.user_by_handle(connection, moderator.community_id, username)
    if user is None:
        raise not_found(_("There is no member with that name."))
    target = await actor_for(connection, user, moderator.community_id)
    require_outranks(moderator, target)
    return Target(user, target)


def _reason(reason: str) -> str:
    clean = " ".join(reason.split())
    if not clean:
        raise bad_request(_("Please give a reason: the member will see it."), "reason")
    if len(clean) > MAX_REASON:
        raise bad_request(_("A reason can have at most 500 characters."), "reason")
    return clean


def mute_end(duration: str, now: datetime | None = None) -> datetime | None:
    if duration == "until_lifted":
        return None
    minutes = MUTE_CHOICES.get(duration)
    if minutes is None:
        raise bad_request(_("Please choose how long the mute lasts."), "duration")
    return (now or datetime.now(UTC)) + timedelta(minutes=minutes)


async def do_mute(
    connection: asyncpg.Connection,
    moderator: Actor,
    username: str,
    *,
    duration: str,
    reason: str,
    community_slug: str = "",
) -> datetime | None:
    """Mute a member in this community for a chosen time; it ends by itself."""
    require_moderator(moderator)
    target = await _target(connection, moderator, username)
    return await mute_member(
        connection,
        moderator,
        target.user.id,
        target=target.actor,
        room=None,
        duration=duration,
        reason=reason,
        community_slug=community_slug,
    )


async def _slug(connection: asyncpg.Connection, community_id: int, known: str) -> str:
    """The community's slug, for the member's live frame (callers without a URL at hand, scripts and tests)."""
    if known:
        return known
    community = await communities.by_id(connection, community_id)
    return community.slug if community is not None else ""


async def mute_member(
    connection: asyncpg.Connection,
    moderator: Actor,
    user_id: int,
    *,
    room: Room | None,
    duration: str,
    reason: str,
    community_slug: str = "",
    target: Actor | None = None,
) -> datetime | None:
    """Mute a member (whom the moderator outranks) in one room of this community, or (room None) in all of it,
    for a chosen time, with a reason; the member is told privately, with the reason and the end.

    target: the member as this community sees them, when the caller has looked them up already."""
    leader = require_moderator(moderator)
    if target is None:
        target = await actor_for(connection, await _user(connection, user_id), moderator.community_id)
    require_outranks(moderator, target)
    if room is not None and room.community_id != moderator.community_id:
        raise not_found()
    clean = _reason(reason)
    ends_at = mute_end(duration)
    slug = await _slug(connection, moderator.community_id, community_slug)
    async with events.unit_of_work(connection):
        # A new mute replaces the one of the same scope; a community mute and a room's are independent.
        await sanctions.lift_active(
            connection, moderator.community_id, user_id, "mute", leader.id, scope=room.id if room else None
        )
        await sanctions.create(
            connection,
            community_id=moderator.community_id,
            user_id=user_id,
            kind="mute",
            reason=clean,
            created_by=leader.id,
            ends_at=ends_at,
            room_id=room.id if room else None,
        )
        await audit.record(
            connection,
            community_id=moderator.community_id,
            actor_id=leader.id,
            action="mute",
            target_user_id=user_id,
            target_kind="user",
            target_id=user_id,
            reason=clean,
            details={"ends_at": ends_at.isoformat() if ends_at else None, "room": room.slug if room else None},
        )
        await tell_author(
            connection,
            author_id=user_id,
            actor_id=leader.id,
            community_id=moderator.community_id,
            data={
                "event": "muted",
                "what": "room" if room else "community",
                "room": room.name if room else "",
                "reason": clean,
                "ends_at": ends_at.isoformat() if ends_at else None,
                "url": f"/c/{slug}/live/{room.slug}" if room and slug else "",
            },
        )
        # Their open pages stop offering a composer that would be refused (the server refuses either way).
        events.emit(events.MemberMuted(user_id, slug, room.slug if room else None, clean, ends_at))
    return ends_at


async def _user(connection: asyncpg.Connection, user_id: int) -> User:
    user = await users.by_id(connection, user_id)
    if user is None:
        raise not_found(_("There is no member with that name."))
    return user


async def _lift(
    connection: asyncpg.Connection,
    moderator: Actor,
    username: str,
    kind: str,
    action: str,
    *,
    community_slug: str = "",
) -> None:
    """End a member's active mutes (in every room too) or ban; logged, and for a mute their open pages told,
    only when there was one to lift."""
    leader = require_moderator(moderator)
    target = await _target(connection, moderator, username)
    slug = await _slug(connection, moderator.community_id, community_slug) if kind == "mute" else ""
    async with events.unit_of_work(connection):
        if await sanctions.lift_active(connection, moderator.community_id, target.user.id, kind, leader.id):
            await audit.record(
                connection,
                community_id=moderator.community_id,
                actor_id=leader.id,
                action=action,
                target_user_id=target.user.id,
                target_kind="user",
                target_id=target.user.id,
            )
            if kind == "mute":
                events.emit(events.MemberUnmuted(target.user.id, slug))


async def do_unmute(
    connection: asyncpg.Connection, moderator: Actor, username: str, *, community_slug: str = ""
) -> None:
    await _lift(connection, moderator, username, "mute", "unmute", community_slug=community_slug)


async def do_ban(connection: asyncpg.Connection, moderator: Actor, username: str, *, reason: str) -> User:
    """Ban a member from this community: no posting, chatting, reacting, flagging or rejoining."""
    leader = require_moderator(moderator)
    target = await _target(connection, moderator, username)
    clean = _reason(reason)
    async with events.unit_of_work(connection):
        await sanctions.lift_active(connection, moderator.community_id, target.user.id, "ban", leader.id)
        await sanctions.create(
            connection,
            community_id=moderator.community_id,
            user_id=target.user.id,
            kind="ban",
            reason=clean,
            created_by=leader.id,
            ends_at=None,
        )
        await audit.record(
            connection,
            community_id=moderator.community_id,
            actor_id=leader.id,
            action="ban",
            target_user_id=target.user.id,
            target_kind="user",
            target_id=target.user.id,
            reason=clean,
        )
        # Their open sockets in this community close on every process.
        events.emit(events.MemberRemoved(target.user.id, moderator.community_id))
    return target.user


async def do_unban(connection: asyncpg.Connection, moderator: Actor, username: str) -> None:
    await _lift(connection, moderator, username, "ban", "unban")


async def do_set_slow_mode(connection: asyncpg.Connection, moderator: Actor, room: Room, seconds: int) -> None:
    leader = require_moderator(moderator)
    if room.community_id != moderator.community_id:
        raise not_found()
    if not 0 <= seconds <= 3600:
        raise bad_request(_("Slow mode is between 0 (off) and 3600 seconds."), "seconds")
    async with events.unit_of_work(connection):
        await rooms.set_slow_mode(connection, room.id, seconds)
        await audit.record(
            connection,
            community_id=moderator.community_id,
            actor_id=leader.id,
            action="slow_mode",
            target_kind="room",
            target_id=room.id,
            details={"seconds": seconds, "room": room.slug},
        )


# --- what leaders' pages show ---------------------------------------------------------------------


@dataclass(frozen=True)
class MembersView:
    members: list[Member]
    sanctions: list[Sanction]


async def members_view(connection: asyncpg.Connection, moderator: Actor) -> MembersView:
    """The members page: everyone in the community and the mutes and bans in force (leaders and admins)."""
    require_moderator(moderator)
    return MembersView(
        await memberships.members(connection, moderator.community_id),
        await sanctions.active_for_community(connection, moderator.community_id),
    )


async def do_set_slow_mode_in(connection: asyncpg.Connection, moderator: Actor, room_slug: str, seconds: int) -> Room:
    """Slow mode for the community's room called room_slug; returns the room."""
    room = await rooms.in_community(connection, moderator.community_id, room_slug)
    if room is None:
        raise not_found()
    await do_set_slow_mode(connection, moderator, room, seconds)
    return room

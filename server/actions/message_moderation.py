"""Moderation from a message's own menu, in live rooms and on thread pages: remove it, send it back to review
(hold), or mute its author in the room or the whole community, with a reason and an end.

Every verb is for this community's moderators (access.require_moderator), and holding or muting only for
one who outranks the author (access.require_outranks); the author is told privately, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.actions import chat, events, moderation
from server.actions.access import Actor, require_moderator, require_outranks
from server.actions.review import record_message_decision
from server.actions.thread_moderation import author_actor, check_reason, hide_post_state, post_in, tell_author
from server.db.queries import audit, messages, review, rooms
from server.db.queries.messages import Message
from server.db.queries.review import PostPlace
from server.db.queries.rooms import Room
from server.errors import bad_request, conflict, not_found
from server.i18n import _

SCOPES = ("room", "community")


@dataclass(frozen=True)
class MessageInRoom:
    """A chat message a moderator is acting on, with its room and community's address."""

    room: Room
    message: Message
    community_slug: str


async def message_to_moderate(
    connection: asyncpg.Connection, actor: Actor, community_slug: str, room_slug: str, seq: int
) -> MessageInRoom:
    """The message at seq in one of the actor's community's rooms, for its moderators (403 for others)."""
    require_moderator(actor)
    room = await rooms.in_community(connection, actor.community_id, room_slug)
    message = await messages.by_seq(connection, room.id, seq) if room is not None else None
    if room is None or message is None:
        raise not_found(_("That message does not exist."))
    return MessageInRoom(room, message, community_slug)


async def do_remove_message(
    connection: asyncpg.Connection, actor: Actor, community_slug: str, room_slug: str, seq: int, *, reason: str
) -> MessageInRoom:
    """Remove a message from its menu, with the reason its author is told privately."""
    found = await message_to_moderate(connection, actor, community_slug, room_slug, seq)
    clean = check_reason(reason)
    if found.message.state == "hidden":
        raise conflict(_("This message has already been removed."))
    await chat.do_remove_message(connection, actor, found.room, community_slug=community_slug, seq=seq, reason=clean)
    return found


async def do_hold_message(
    connection: asyncpg.Connection, actor: Actor, community_slug: str, room_slug: str, seq: int
) -> MessageInRoom:
    """Send a shown message back to the review queue: out of everyone's view (its author sees it waiting)."""
    leader = require_moderator(actor)
    found = await message_to_moderate(connection, actor, community_slug, room_slug, seq)
    message, room = found.message, found.room
    require_outranks(actor, await author_actor(connection, message.author_id, room.community_id))
    if message.state != "visible":
        raise conflict(_("Only a message everyone can see can be sent back to review."))
    async with events.unit_of_work(connection):
        await messages.set_state(connection, message.id, "held", "", leader.id)
        events.emit(events.RoomMessageGone(community_slug, room.slug, seq))
        await record_message_decision(
            connection,
            leader.id,
            room,
            message,
            community_slug=community_slug,
            action="hold_message",
            told="held_again",
        )
    return found


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise bad_request(_("Please choose where the mute holds: this room or the whole community."), "scope")
    return scope


async def do_mute_message_author(
    connection: asyncpg.Connection,
    actor: Actor,
    community_slug: str,
    room_slug: str,
    seq: int,
    *,
    scope: str,
    duration: str,
    reason: str,
) -> datetime | None:
    """Mute the message's author in its room (scope "room") or the whole community, with a reason and an end."""
    found = await message_to_moderate(connection, actor, community_slug, room_slug, seq)
    check_scope(scope)
    if found.message.author_id is None:
        raise conflict(_("This member's account no longer exists."))
    return await moderation.mute_member(
        connection,
        actor,
        found.message.author_id,
        room=found.room if scope == "room" else None,
        duration=duration,
        reason=reason,
        community_slug=community_slug,
    )


async def do_hold_post(connection: asyncpg.Connection, actor: Actor, post_id: int) -> PostPlace:
    """Send a shown post back to the review queue (an opening post takes its thread with it)."""
    leader = require_moderator(actor)
    place = await post_in(connection, actor, post_id)
    require_outranks(actor, await author_actor(connection, place.author_id, place.community_id))
    if place.state != "visible":
        raise conflict(_("Only a post everyone can see can be sent back to review."))
    async with events.unit_of_work(connection):
        await hide_post_state(connection, place, "held", "")
        if place.is_first:
            await review.set_thread_state(connection, place.thread_id, "held")
        events.emit(events.PostChanged(place.thread_id, place.id, "remove", place.audience))
        await audit.record(
            connection,
            community_id=place.community_id,
            actor_id=leader.id,
            action="hold_post",
            target_user_id=place.author_id,
            target_kind="post",
            target_id=place.id,
            details={"thread_id": place.thread_id, "opening": place.is_first},
        )
        await tell_author(
            connection,
            author_id=place.author_id,
            actor_id=leader.id,
            community_id=place.community_id,
            thread_id=place.thread_id,
            post_id=place.id,
            data={"event": "held_again", "what": "post", "title": place.thread_title},
        )
    return place


async def do_mute_post_author(
    connection: asyncpg.Connection, actor: Actor, post_id: int, *, duration: str, reason: str
) -> tuple[PostPlace, datetime | None]:
    """Mute a post's author in the whole community (the forum has no rooms), with a reason and an end."""
    require_moderator(actor)
    place = await post_in(connection, actor, post_id)
    if place.author_id is None:
        raise conflict(_("This member's account no longer exists."))
    ends_at = await moderation.mute_member(
        connection,
        actor,
        place.author_id,
        room=None,
        duration=duration,
        reason=reason,
        community_slug=place.community_slug,
    )
    return place, ends_at

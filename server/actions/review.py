"""The leaders' review queue: approve or reject held posts and chat messages, and the hold's settings."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from server.actions import events, waiting
from server.actions import flags as flag_actions
from server.actions import notifications as notify
from server.actions.access import Actor, require_moderator, require_outranks
from server.actions.posts import reply_recipients
from server.actions.thread_moderation import author_actor, check_reason, hide_post_state, post_in, tell_author
from server.actions.threads import Place
from server.db.queries import audit, flags, introductions, messages, posts, review, rooms, threads
from server.db.queries.flags import FlaggedItem
from server.db.queries.messages import Message
from server.db.queries.notifications import Created
from server.db.queries.review import FLAGGED, HeldMessage, HeldPost, ModerationSettings, PostPlace, ThreadHeld
from server.db.queries.rooms import Room
from server.errors import bad_request, conflict, not_found
from server.i18n import _


@dataclass(frozen=True)
class Queue:
    held_posts: list[HeldPost]
    held_messages: list[HeldMessage]
    flagged: list[FlaggedItem]
    settings: ModerationSettings


async def queue(connection: asyncpg.Connection, actor: Actor, *, escalate_minutes: int) -> Queue:
    """What waits for this community's leaders: flagged items (someone at risk first), held posts and messages."""
    viewer = require_moderator(actor)
    await flag_actions.escalate_overdue(connection, escalate_minutes)
    chosen = await review.settings(connection, actor.community_id)
    assert chosen is not None
    return Queue(
        held_posts=await review.held_posts(connection, actor.community_id),
        held_messages=await review.held_messages(connection, actor.community_id),
        flagged=await flags.community_queue(
            connection, actor.community_id, viewer_id=viewer.id, include_about_leaders=actor.is_admin
        ),
        settings=chosen,
    )


async def _held_post(connection: asyncpg.Connection, actor: Actor, post_id: int) -> PostPlace:
    place = await post_in(connection, actor, post_id)
    if place.state != "held" or place.state_reason == FLAGGED:
        raise conflict(_("This post is not waiting for review any more."))
    return place


@dataclass(frozen=True)
class Approved:
    """A decided held post, and the notifications it sent (announced live after the commit)."""

    place: PostPlace
    notified: list[Created]


async def do_approve_post(connection: asyncpg.Connection, actor: Actor, post_id: int) -> Approved:
    """Show a held post (and its thread, for an opening post); it counts towards lifting the author's hold,
    the author is told, and the notifications the post would have sent (replies, mentions...) go out now."""
    leader = require_moderator(actor)
    place = await _held_post(connection, actor, post_id)
    async with events.unit_of_work(connection):
        await posts.set_state(connection, place.id, "visible", "")
        events.emit(events.PostChanged(place.thread_id, place.id, "new", place.audience))
        thread = await threads.by_id(connection, place.thread_id)
        assert thread is not None
        if place.is_first:
            await review.open_thread(connection, place.thread_id)
            recipients = notify.Recipients()
            if place.thread_kind == "introduction":
                for user_id in await introductions.greeters(connection, place.community_id):
                    recipients.add(user_id, "introduction")
            await notify.add_mentions(connection, recipients, place.community_id, place.body_md)
        else:
            await threads.note_reply(connection, place.thread_id)
            quoted = await posts.by_id(connection, place.reply_to_post_id) if place.reply_to_post_id else None
            recipients = await reply_recipients(
                connection, thread, place.author_id, place.body_md, quoted.author_id if quoted else None
            )
        await review.count_approved(connection, place.community_id, place.author_id)
        await audit.record(
            connection,
            community_id=place.community_id,
            actor_id=leader.id,
            action="approve_post",
            target_user_id=place.author_id,
            target_kind="post",
            target_id=place.id,
            details={"thread_id": place.thread_id, "opening": place.is_first},
        )
        await waiting.settle(connection, place.community_id, f"post:{place.id}")
        created = await notify.send(
            connection,
            recipients,
            actor_id=place.author_id,
            community_id=place.community_id,
            thread_id=place.thread_id,
            post_id=place.id,
        )
        created += await tell_author(
            connection,
            author_id=place.author_id,
            actor_id=leader.id,
            community_id=place.community_id,
            thread_id=place.thread_id,
            post_id=place.id,
            data={
                "event": "approved",
                "what": "thread" if place.is_first else "post",
                "title": place.thread_title,
            },
        )
    return Approved(place, created)


async def do_reject_post(connection: asyncpg.Connection, actor: Actor, post_id: int, *, reason: str) -> Approved:
    """Keep a held post out of view (hidden, with the reason the author is told); a held thread goes with it."""
    leader = require_moderator(actor)
    place = await _held_post(connection, actor, post_id)
    require_outranks(actor, await author_actor(connection, place.author_id, place.community_id))
    clean = check_reason(reason)
    async with events.unit_of_work(connection):
        await hide_post_state(connection, place, "hidden", clean)
        events.emit(events.PostChanged(place.thread_id, place.id, "remove", place.audience))
        if place.is_first:
            await review.set_thread_state(connection, place.thread_id, "hidden")
        await audit.record(
            connection,
            community_id=place.community_id,
            actor_id=leader.id,
            action="reject_post",
            target_user_id=place.author_id,
            target_kind="post",
            target_id=place.id,
            reason=clean,
            details={"thread_id": place.thread_id, "opening": place.is_first},
        )
        await waiting.settle(connection, place.community_id, f"post:{place.id}")
        # The author can no longer open a rejected thread, so the notice does not point into it.
        notified = await tell_author(
            connection,
            author_id=place.author_id,
            actor_id=leader.id,
            community_id=place.community_id,
            thread_id=None if place.is_first else place.thread_id,
            post_id=None if place.is_first else place.id,
            data={
                "event": "rejected",
                "what": "thread" if place.is_first else "post",
                "title": place.thread_title,
                "reason": clean,
            },
        )
    return Approved(place, notified)


@dataclass(frozen=True)
class MessageDecision:
    message: Message
    room: Room
    community_slug: str
    notified: list[Created]


async def _held_message(connection: asyncpg.Connection, actor: Actor, message_id: int) -> tuple[Message, Room]:
    message = await messages.by_id(connection, message_id)
    room = await rooms.by_id(connection, message.room_id) if message else None
    if message is None or room is None or room.community_id != actor.community_id:
        raise not_found(_("That message does not exist."))
    if message.state != "held" or message.state_reason == FLAGGED:
        raise conflict(_("This message is not waiting for review any more."))
    return message, room


async def record_message_decision(
    connection: asyncpg.Connection,
    leader_id: int,
    room: Room,
    message: Message,
    *,
    community_slug: str,
    action: str,
    told: str,
    reason: str = "",
    tell: bool = True,
) -> list[Created]:
    """A leader's decision on a room message (approved, rejected, removed, sent back to review): the audit entry,
    and, unless tell is false, the author told privately (with the reason, if any) and a link to the room."""
    await audit.record(
        connection,
        community_id=room.community_id,
        actor_id=leader_id,
        action=action,
        target_user_id=message.author_id,
        target_kind="room_message",
        target_id=message.id,
        reason=reason,
        details={"room": room.slug, "seq": message.seq},
    )
    if not tell:
        return []
    data = {"event": told, "what": "message", "room": room.name, "url": f"/c/{community_slug}/live/{room.slug}"}
    if reason:
        data["reason"] = reason
    return await tell_author(
        connection, author_id=message.author_id, actor_id=leader_id, community_id=room.community_id, data=data
    )


async def do_approve_message(
    connection: asyncpg.Connection, actor: Actor, message_id: int, *, community_slug: str
) -> MessageDecision:
    """Show a held chat message to everyone in the room, once the approval commits."""
    leader = require_moderator(actor)
    message, room = await _held_message(connection, actor, message_id)
    async with events.unit_of_work(connection):
        approved = await messages.set_state(connection, message.id, "visible", "", leader.id)
        assert approved is not None
        events.emit(events.RoomMessageShown(community_slug, room.slug, room.epoch, approved))
        await review.count_approved(connection, room.community_id, message.author_id)
        # The members it @mentions hear of it now that everyone can read it.
        if message.author_id is not None:
            await notify.notify_room_mentions(
                connection,
                room_id=room.id,
                community_id=room.community_id,
                actor_id=message.author_id,
                body=message.body,
                data=notify.room_mention_data(room.name, community_slug, room.slug, message.seq),
            )
        await waiting.settle(connection, room.community_id, f"message:{message.id}")
        notified = await record_message_decision(
            connection,
            leader.id,
            room,
            message,
            community_slug=community_slug,
            action="approve_message",
            told="approved",
        )
    return MessageDecision(approved, room, community_slug, notified)


async def do_reject_message(
    connection: asyncpg.Connection, actor: Actor, message_id: int, *, reason: str, community_slug: str
) -> MessageDecision:
    """Keep a held chat message out of view, hidden with the reason its author is told."""
    leader = require_moderator(actor)
    message, room = await _held_message(connection, actor, message_id)
    require_outranks(actor, await author_actor(connection, message.author_id, room.community_id))
    clean = check_reason(reason)
    async with events.unit_of_work(connection):
        rejected = await messages.set_state(connection, message.id, "hidden", clean, leader.id)
        assert rejected is not None
        # Everyone else never had it; its author's open page marks it "not approved".
        events.emit(events.RoomMessageGone(community_slug, room.slug, rejected.seq, rejected=True))
        await waiting.settle(connection, room.community_id, f"message:{message.id}")
        notified = await record_message_decision(
            connection,
            leader.id,
            room,
            message,
            community_slug=community_slug,
            action="reject_message",
            told="rejected",
            reason=clean,
        )
    return MessageDecision(rejected, room, community_slug, notified)


async def own_held_threads(connection: asyncpg.Connection, place: Place) -> list[ThreadHeld]:
    """A new member's own threads that wait for review: the lists show them to their author only.

    Asked only while the member's hold applies, so other readers' list pages cost no extra query."""
    user = place.actor.user
    if user is None or not place.actor.is_member or not place.actor.standing.needs_review:
        return []
    return await review.held_threads_by(connection, place.community.id, user.id)


def check_settings(hold_first_posts: bool, hold_release_after: str, flag_hide_threshold: str) -> ModerationSettings:
    release = hold_release_after.strip()
    if not release.isdigit() or not 0 <= int(release) <= 100:
        raise bad_request(_("Please choose a number from 0 to 100."), "hold_release_after")
    threshold = flag_hide_threshold.strip()
    if not threshold.isdigit() or not 1 <= int(threshold) <= 100:
        raise bad_request(_("Please choose a number from 1 to 100."), "flag_hide_threshold")
    return ModerationSettings(hold_first_posts, int(release), int(threshold))


async def do_set_settings(
    connection: asyncpg.Connection,
    actor: Actor,
    *,
    hold_first_posts: bool,
    hold_release_after: str,
    flag_hide_threshold: str,
) -> ModerationSettings:
    """Leaders switch the first-post hold on or off, choose after how many approved posts it lifts,
    and how many members' flags hide something until a leader looks."""
    leader = require_moderator(actor)
    chosen = check_settings(hold_first_posts, hold_release_after, flag_hide_threshold)
    async with events.unit_of_work(connection):
        before = await review.settings(connection, actor.community_id)
        assert before is not None
        await review.set_settings(connection, actor.community_id, chosen)
        await audit.record(
            connection,
            community_id=actor.community_id,
            actor_id=leader.id,
            action="moderation_settings",
            target_kind="community",
            target_id=actor.community_id,
            details={
                "hold_first_posts": [before.hold_first_posts, chosen.hold_first_posts],
                "hold_release_after": [before.hold_release_after, chosen.hold_release_after],
                "flag_hide_threshold": [before.flag_hide_threshold, chosen.flag_hide_threshold],
            },
        )
    return chosen

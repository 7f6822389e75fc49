"""Flags: members flag posts and chat messages, leaders uphold or dismiss them, crisis flags, escalation to admins.

A flag goes to its community's review queue. Its subject (the author) never sees it: a leader who is
flagged is recused and site admins handle it. Enough flags from different members take the content out
of view until a leader looks ('held', reason 'flagged'). "Someone may be at risk" notifies every leader
and site admin at once and shows the flagger where to find help. A flag nobody handles in time is
escalated to site admins, by the review pages when they load and by a small task in every process.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import cast

import asyncpg

from server.actions import events, waiting
from server.actions import notifications as notify
from server.actions.access import Actor, require_admin, require_can_write, require_moderator, require_outranks
from server.actions.thread_moderation import (
    author_actor,
    check_reason,
    hide_post_state,
    post_in,
    show_post_state,
    tell_author,
)
from server.db.queries import audit, communities, flags, messages, review, rooms, threads
from server.db.queries.flags import REASONS, FlaggedItem
from server.db.queries.messages import Message
from server.db.queries.notifications import Created
from server.db.queries.review import FLAGGED, PostPlace
from server.db.queries.rooms import Room
from server.db.queries.users import User
from server.errors import bad_request, conflict, forbidden, not_found
from server.i18n import _

log = logging.getLogger(__name__)

MAX_NOTE = 1000
AT_RISK = "at_risk"


def reason_labels() -> dict[str, str]:
    """What each reason is called, in the reader's language (forms and the review queue)."""
    return {
        "spam": _("Spam or advertising"),
        "unkind": _("Unkind or disrespectful"),
        "misinformation": _("Harmful or false medical information"),
        "private_information": _("Shares someone's private information"),
        "at_risk": _("Someone may be at risk"),
        "other": _("Something else"),
    }


def check_flag(reason: str, note: str) -> tuple[str, str]:
    if reason not in REASONS:
        raise bad_request(_("Please choose why you are flagging this."), "reason")
    clean = note.replace("\r\n", "\n").strip()
    if len(clean) > MAX_NOTE:
        raise bad_request(_("A note can have at most %(max)d characters.") % {"max": MAX_NOTE}, "note")
    if "\x00" in clean:
        raise bad_request(_("The text contains characters that cannot be stored."), "note")
    return reason, clean


@dataclass(frozen=True)
class Item:
    """Something a member can flag: a post or a chat message, with its author and where it is."""

    community_id: int
    post: PostPlace | None
    message: Message | None
    room: Room | None

    @property
    def author_id(self) -> int | None:
        return self.post.author_id if self.post else self.message.author_id if self.message else None

    @property
    def state(self) -> str:
        return self.post.state if self.post else self.message.state if self.message else ""

    @property
    def state_reason(self) -> str:
        return self.post.state_reason if self.post else self.message.state_reason if self.message else ""

    @property
    def kind(self) -> str:
        return "post" if self.post else "message"

    @property
    def id(self) -> int:
        if self.post is not None:
            return self.post.id
        assert self.message is not None
        return self.message.id

    @property
    def post_id(self) -> int | None:
        return self.post.id if self.post else None

    @property
    def message_id(self) -> int | None:
        return self.message.id if self.message else None


async def post_item(connection: asyncpg.Connection, actor: Actor, post_id: int) -> Item:
    place = await post_in(connection, actor, post_id)
    return Item(place.community_id, place, None, None)


async def message_item(connection: asyncpg.Connection, actor: Actor, room_slug: str, seq: int) -> Item:
    room = await rooms.in_community(connection, actor.community_id, room_slug)
    message = await messages.by_seq(connection, room.id, seq) if room else None
    if room is None or message is None:
        raise not_found(_("That message does not exist."))
    return Item(room.community_id, None, message, room)


async def message_item_by_id(connection: asyncpg.Connection, actor: Actor, message_id: int) -> Item:
    message = await messages.by_id(connection, message_id)
    room = await rooms.by_id(connection, message.room_id) if message else None
    if message is None or room is None or room.community_id != actor.community_id:
        raise not_found(_("That message does not exist."))
    return Item(room.community_id, None, message, room)


def _flaggable(item: Item, user: User) -> None:
    """Members flag what they can see: visible content (or content already out of view because of flags)."""
    if item.post is not None and item.post.thread_state != "visible":
        raise not_found(_("We could not find that post."))
    if item.author_id == user.id:
        raise bad_request(_("You cannot flag your own words; you can edit or delete them instead."))
    if item.state == "held" and item.state_reason == FLAGGED:
        return
    if item.state == "held":  # waiting for the first-post review: only its author and the leaders see it
        raise not_found(_("We could not find that."))
    if item.state != "visible":
        raise conflict(_("This is no longer shown, so there is nothing to flag."))


async def check_flaggable(connection: asyncpg.Connection, actor: Actor, item: Item) -> None:
    """For the flag form: the same checks as flagging, before anything is typed."""
    _flaggable(item, require_can_write(actor))


@dataclass(frozen=True)
class Flagged:
    created: bool  # False: this member had already flagged it (nothing new stored)
    at_risk: bool
    hidden_now: bool  # this flag took the item out of view: a chat message must be removed from the room
    item: Item
    notified: list[Created]


async def _notify_flag(connection: asyncpg.Connection, item: Item, flagger_id: int, *, at_risk: bool) -> list[Created]:
    """Crisis flags reach every leader and site admin; a first flag on an item reaches those who handle it.
    The author of the flagged words is never told (recusal, and the flagger's safety)."""
    community = item.community_id
    subject = await author_actor(connection, item.author_id, community)
    leaders = await review.leader_ids(connection, community)
    admins = await review.admin_ids(connection)
    if at_risk:
        kind, people = "crisis", [*leaders, *admins]
    elif await flags.open_flaggers(connection, post_id=item.post_id, message_id=item.message_id) == 1:
        # Flags about a leader (or an admin) go to the site admins: a leader cannot moderate a fellow leader.
        # A community without leaders yet has the site admins look instead.
        kind, people = "flag", admins if subject.is_leader or subject.is_admin or not leaders else leaders
    else:
        return []
    where = await communities.by_id(connection, community)
    slug = where.slug if where else ""
    return await notify.tell_waiting(
        connection,
        [(user_id, kind) for user_id in people if user_id != item.author_id],
        community_id=community,
        community_slug=slug,
        item=item_key(item),
        actor_id=flagger_id,
        data={"event": "new", "what": item.kind},
        url=f"/c/{slug}/review",
    )


def escalation_key(community_id: int) -> str:
    """How the admins' notices about a community's overdue flags are named (settled when none is left open)."""
    return f"escalated:{community_id}"


def item_key(item: Item) -> str:
    """How notifications name the item (waiting.settle marks them read once it is dealt with)."""
    return f"{'post' if item.post else 'message'}:{item.id}"


async def find_item(
    connection: asyncpg.Connection,
    actor: Actor,
    *,
    slug: str,
    post_id: int | None = None,
    room: str | None = None,
    seq: int | None = None,
) -> Item:
    """The post (by id) or chat message (by room and seq) a flag form is about, in the actor's community."""
    if post_id is not None:
        return await post_item(connection, actor, post_id)
    assert room is not None and seq is not None
    return await message_item(connection, actor, room, seq)


async def _announce_item(
    connection: asyncpg.Connection, item: Item, *, shown: bool, message: Message | None = None
) -> None:
    """After the commit: a flagged post's open thread pages fetch it again; a flagged chat message is
    taken out of (or, dismissed, put back into) every open copy of its room."""
    if item.post is not None:
        events.emit(events.PostChanged(item.post.thread_id, item.post.id, "edit" if shown else "remove"))
        return
    if item.room is None or item.message is None:
        return
    community = await communities.by_id(connection, item.community_id)
    if community is None:
        return
    if shown and message is not None:
        events.emit(events.RoomMessageShown(community.slug, item.room.slug, item.room.epoch, message))
    elif not shown:
        events.emit(events.RoomMessageGone(community.slug, item.room.slug, item.message.seq))


async def _flag(connection: asyncpg.Connection, actor: Actor, item: Item, reason: str, note: str) -> Flagged:
    user = require_can_write(actor)
    _flaggable(item, user)
    reason, note = check_flag(reason, note)
    at_risk = reason == AT_RISK
    async with events.unit_of_work(connection):
        # Members flagging the same item at the same moment are counted one after the other, so the
        # flag that reaches the community's threshold is always seen as such.
        await review.lock_item(connection, post_id=item.post_id, message_id=item.message_id)
        flag_id = await flags.create(
            connection,
            community_id=item.community_id,
            post_id=item.post_id,
            message_id=item.message_id,
            subject_user_id=item.author_id,
            flagger_id=user.id,
            reason=reason,
            note=note,
        )
        if flag_id is None:
            earlier = await flags.mine(connection, post_id=item.post_id, message_id=item.message_id, flagger_id=user.id)
            if not at_risk or earlier is None or (earlier.reason == AT_RISK and earlier.status == "open"):
                return Flagged(False, at_risk, False, item, [])
            # A member who flagged this before now fears someone is at risk: that must not be lost.
            await flags.reopen_as_at_risk(connection, earlier.id, note)
        hidden_now = False
        chosen = await review.settings(connection, item.community_id)
        threshold = chosen.flag_hide_threshold if chosen else 1
        if (
            item.state == "visible"
            and await flags.open_flaggers(connection, post_id=item.post_id, message_id=item.message_id) >= threshold
            and await review.hold_for_flags(
                connection, post_id=item.post_id, message_id=item.message_id, changed_by=user.id
            )
        ):
            hidden_now = True
            await _announce_item(connection, item, shown=False)
            if item.post is not None and not item.post.is_first:
                await threads.change_reply_count(connection, item.post.thread_id, -1)
            await audit.record(
                connection,
                community_id=item.community_id,
                actor_id=user.id,
                action="hide_by_flags",
                target_user_id=item.author_id,
                target_kind="post" if item.post else "room_message",
                target_id=item.id,
                details={"flags": threshold},
            )
        notified = await _notify_flag(connection, item, user.id, at_risk=at_risk)
    return Flagged(True, at_risk, hidden_now, item, notified)


async def do_flag_post(
    connection: asyncpg.Connection, actor: Actor, post_id: int, *, reason: str, note: str
) -> Flagged:
    require_can_write(actor)
    return await _flag(connection, actor, await post_item(connection, actor, post_id), reason, note)


async def do_flag_message(
    connection: asyncpg.Connection, actor: Actor, room_slug: str, seq: int, *, reason: str, note: str
) -> Flagged:
    require_can_write(actor)
    return await _flag(connection, actor, await message_item(connection, actor, room_slug, seq), reason, note)


# --- handling flags ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    item: Item
    upheld: bool
    shown_again: bool  # a message hidden by flags is visible again: publish it to the room
    message: Message | None  # the message as it is now
    notified: list[Created]


async def do_resolve(
    connection: asyncpg.Connection, actor: Actor, kind: str, item_id: int, *, uphold: bool, reason: str = ""
) -> Resolved:
    """Uphold (hide the content, with a reason the author is told) or dismiss every open flag on an item."""
    leader = require_moderator(actor)
    if kind == "post":
        item = await post_item(connection, actor, item_id)
    else:
        item = await message_item_by_id(connection, actor, item_id)
    if item.author_id == leader.id:
        raise forbidden(_("Flags about your own words are handled by someone else."))
    if not actor.is_admin:
        require_outranks(actor, await author_actor(connection, item.author_id, item.community_id))
    clean = check_reason(reason) if uphold else ""
    shown_again = False
    notified: list[Created] = []
    current: Message | None = item.message
    async with events.unit_of_work(connection):
        handled = await flags.resolve(
            connection,
            post_id=item.post_id,
            message_id=item.message_id,
            status="upheld" if uphold else "dismissed",
            handled_by=leader.id,
        )
        if handled == 0:
            raise conflict(_("These flags have already been handled."))
        if uphold and item.state in {"visible", "held"}:
            if item.post is not None:
                await hide_post_state(connection, item.post, "hidden", clean)
            else:
                current = await messages.set_state(connection, item.id, "hidden", clean, leader.id)
        elif not uphold and item.state == "held" and item.state_reason == FLAGGED:
            if item.post is not None:
                await show_post_state(connection, item.post)
            else:
                current = await messages.set_state(connection, item.id, "visible", "", leader.id)
                shown_again = True
        if uphold or shown_again or item.post is not None:
            await _announce_item(connection, item, shown=not uphold, message=current)
        await audit.record(
            connection,
            community_id=item.community_id,
            actor_id=leader.id,
            action="uphold_flags" if uphold else "dismiss_flags",
            target_user_id=item.author_id,
            target_kind="post" if item.post else "room_message",
            target_id=item.id,
            reason=clean,
            details={"flags": handled},
        )
        await waiting.settle(connection, item.community_id, item_key(item))
        if not await flags.open_escalated(connection, item.community_id):
            await waiting.settle(connection, item.community_id, escalation_key(item.community_id))
        if uphold:
            notified = await tell_author(
                connection,
                author_id=item.author_id,
                actor_id=leader.id,
                community_id=item.community_id,
                thread_id=item.post.thread_id if item.post else None,
                post_id=item.post.id if item.post else None,
                data={
                    "event": "hidden",
                    "what": item.kind,
                    "reason": clean,
                    "title": item.post.thread_title if item.post else "",
                    "room": item.room.name if item.room else "",
                },
            )
    return Resolved(item, uphold, shown_again, current, notified)


# --- escalation -------------------------------------------------------------------------------


async def escalate_overdue(connection: asyncpg.Connection, minutes: int) -> int:
    """Escalate open flags older than `minutes` to site admins (each once), telling the admins."""
    async with events.unit_of_work(connection):
        escalated = await flags.escalate_overdue(connection, minutes)
        if not escalated:
            return 0
        admins = await review.admin_ids(connection)
        by_community: dict[int, int] = {}
        for row in escalated:
            by_community[row.community_id] = by_community.get(row.community_id, 0) + 1
        for community_id, count in by_community.items():
            slug = next(row.community_slug for row in escalated if row.community_id == community_id)
            # Settled once none of the community's escalated flags is open any more (do_resolve).
            await notify.tell_waiting(
                connection,
                [(admin_id, "flag") for admin_id in admins],
                community_id=community_id,
                community_slug=slug,
                item=escalation_key(community_id),
                actor_id=None,
                data={"event": "escalated", "count": count, "minutes": minutes},
                url="/admin/flags",
            )
    return len(escalated)


async def run_escalation(pool: asyncpg.Pool, minutes: int, every_seconds: float) -> None:
    """Started in the app's lifespan: escalates overdue flags now and then, until cancelled at shutdown."""
    while True:
        try:
            async with pool.acquire() as connection:
                await escalate_overdue(cast(asyncpg.Connection, connection), minutes)
        except Exception:  # the database is briefly away: try again next time
            log.warning("could not escalate overdue flags", exc_info=True)
        await asyncio.sleep(every_seconds)


async def admin_queue(connection: asyncpg.Connection, user: User | None, *, escalate_minutes: int) -> list[FlaggedItem]:
    """Site admins' queue: escalated flags and flags about leaders or admins, in every community."""
    admin = require_admin(user)
    await escalate_overdue(connection, escalate_minutes)
    return await flags.admin_queue(connection, viewer_id=admin.id)

"""Live-room messages: validate, authorize, commit with the room's next sequence number, idempotently."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from channels.protocol import ResyncReason
from channels.redis_client import REDIS_ERRORS
from server.actions import access, events, waiting
from server.actions import notifications as notify
from server.actions.access import Actor, require_moderator, require_outranks
from server.actions.review import record_message_decision
from server.actions.thread_moderation import author_actor
from server.db.queries import flags, message_reactions, messages, notifications, rooms
from server.db.queries.messages import EXCERPT_CHARS, Message, Stored, Version
from server.db.queries.notifications import Mentionable
from server.db.queries.rooms import Room, RoomInCommunity
from server.db.queries.users import User
from server.errors import InvalidInput, NotFound, RateLimited, bad_request, not_found
from server.i18n import _, ngettext
from server.ratelimit import MESSAGES_PER_USER, REACTIONS_PER_USER, RateLimiter

MAX_BODY_CHARS = 4000
MAX_CLIENT_ID_CHARS = 64


@dataclass(frozen=True)
class Sent:
    message: Message
    epoch: str
    duplicate: bool  # True when this client id was already committed: same ack, nothing new


def check_body(body: str) -> str:
    # Postgres text cannot hold NUL: refused as bad input, never as "unavailable" (which is retried).
    if "\x00" in body:
        raise bad_request(_("A message cannot contain the NUL character (U+0000)."))
    text = body.strip()
    if not text:
        raise bad_request(_("A message cannot be empty."))
    if len(text) > MAX_BODY_CHARS:
        raise InvalidInput(_("A message can have at most 4000 characters."), code="too_large")
    return text


def check_message(body: str, client_msg_id: str) -> str:
    if "\x00" in client_msg_id:
        raise bad_request(_("A message cannot contain the NUL character (U+0000)."))
    text = check_body(body)
    if not client_msg_id or len(client_msg_id) > MAX_CLIENT_ID_CHARS:
        raise bad_request(_("Each message needs a client id of 1 to 64 characters."))
    return text


async def slow_mode_wait(limiter: RateLimiter, room: Room, actor: Actor) -> int:
    """Seconds before this member may send in the room again under slow mode (0: now), for the page."""
    if room.slow_mode_seconds <= 0 or actor.can_moderate or actor.user is None:
        return 0
    try:
        wait = await limiter.client.ttl(f"{limiter.prefix}slow:{room.id}:{actor.user_id}")
    except REDIS_ERRORS:
        return 0  # the send itself fails open too
    return max(int(wait), 0)


async def _check_slow_mode(limiter: RateLimiter, room: Room, actor: Actor) -> None:
    if room.slow_mode_seconds <= 0 or actor.can_moderate:
        return
    key = f"{limiter.prefix}slow:{room.id}:{actor.user_id}"
    try:
        # One key per member per room, shared by every process: the first send opens the window.
        allowed = await limiter.client.set(key, 1, ex=room.slow_mode_seconds, nx=True)
        wait = 0 if allowed else await limiter.client.ttl(key)
    except REDIS_ERRORS:
        return  # fail open: a Redis outage must not stop families talking
    if not allowed:
        seconds = max(int(wait), 1)
        raise RateLimited(
            ngettext(
                "Slow mode is on: you can send again in %(num)d second.",
                "Slow mode is on: you can send again in %(num)d seconds.",
                seconds,
            )
            % {"num": seconds},
            code="slow_mode",
            retry_after=seconds,
        )


async def do_send_message(
    connection: asyncpg.Connection,
    limiter: RateLimiter,
    actor: Actor,
    room: Room,
    *,
    community_slug: str,
    community: access.Where,
    client_msg_id: str,
    body: str,
    reply_to: int | None = None,
) -> Sent:
    """Commit a message (or find the one already committed under this client id) and return it.

    Once committed it goes to the room: everyone gets it, or, held for review, everyone learns its
    seq is accounted for (only its author and the leaders see it, and the others get it if approved).
    A reply (reply_to: the seq it answers) costs a query; a plain message, none more.
    """
    text = check_message(body, client_msg_id)
    # Site admins may read an archived community's rooms, not write in them.
    user = access.require_can_write_in(actor, community)
    # A retry of a message that was committed gets the same answer, without counting against limits.
    existing = await messages.by_client_id(connection, room.id, user.id, client_msg_id)
    if existing is not None:
        return Sent(require_retry_of(existing, text), room.epoch, duplicate=True)
    if not actor.can_moderate and not await limiter.hit(MESSAGES_PER_USER, str(user.id)):
        raise RateLimited(_("You are sending messages very quickly; please wait a moment."))
    original = await _answered(connection, room, reply_to) if reply_to is not None else None
    await _check_slow_mode(limiter, room, actor)
    # A new member's first messages wait for a leader's approval (first-post hold).
    state = "held" if actor.standing.needs_review else "visible"
    async with events.unit_of_work(connection, single_statement=True, answer_first=True):
        stored = await messages.store_next(
            connection, room.id, user.id, client_msg_id, text, state, original.id if original else None
        )
        if stored is None:
            # A concurrent retry through another process won the race: answer with its message.
            existing = await messages.by_client_id(connection, room.id, user.id, client_msg_id)
            if existing is None:
                raise not_found(_("This room no longer exists."))
            return Sent(require_retry_of(existing, text), room.epoch, duplicate=True)
        message = _as_sent(stored, room, user, actor, client_msg_id, text, original)
        if message.state == "held":
            events.emit(events.RoomMessageGone(community_slug, room.slug, message.seq, new=True))
        else:
            events.emit(events.RoomMessageShown(community_slug, room.slug, stored.epoch, message, new=True))
    if message.state == "held":
        # The leaders are told a newcomer's first message waits (after the message itself is committed and
        # acknowledged: its own small unit of work, paid only while the member's hold applies).
        async with events.unit_of_work(connection):
            await waiting.tell_held(
                connection,
                community_id=room.community_id,
                community_slug=community_slug,
                item=f"message:{message.id}",
                what="message",
                author_id=user.id,
                room=room.name,
            )
    return Sent(message, stored.epoch, duplicate=False)


def require_retry_of(existing: Message, text: str) -> Message:
    """A client id names one message: a send under it is a retry, answered with the stored message. Other words
    under it are not a retry (a client reusing its ids): refused, so that they are not silently lost."""
    unchanged = existing.edited_at is None and existing.state != "deleted"
    if unchanged and existing.body != text:
        raise bad_request(_("This message's id was already used for another message: nothing was sent. Send it again."))
    return existing


async def do_notify_mentions(connection: asyncpg.Connection, room: Room, community_slug: str, sent: Sent) -> None:
    """Members a new message @mentions hear of it (called after its ack: a plain message costs nothing here).

    A held message's mentions are sent when a leader approves it (server/actions/review.py).
    """
    message = sent.message
    if sent.duplicate or message.state != "visible" or "@" not in message.body or message.author_id is None:
        return
    async with events.unit_of_work(connection):
        await notify.notify_room_mentions(
            connection,
            room_id=room.id,
            community_id=room.community_id,
            actor_id=message.author_id,
            body=message.body,
            data=_mention_data(room, community_slug, message.seq),
        )


def _mention_data(room: Room, community_slug: str, seq: int) -> dict[str, object]:
    return notify.room_mention_data(room.name, community_slug, room.slug, seq)


async def _answered(connection: asyncpg.Connection, room: Room, seq: int) -> Message:
    """The message a reply answers: one everyone in the room can see."""
    original = await messages.by_seq(connection, room.id, seq)
    if original is None or original.state != "visible":
        raise not_found(_("The message you are replying to is no longer there."))
    return original


def _as_sent(
    stored: Stored,
    room: Room,
    user: User,
    actor: Actor,
    client_msg_id: str,
    text: str,
    original: Message | None = None,
) -> Message:
    """The message as everyone will see it, built from what is in hand (no second read)."""
    return Message(
        id=stored.id,
        room_id=room.id,
        seq=stored.seq,
        author_id=user.id,
        # Under a pseudonym the message carries it and the alias, never the account's names.
        author_username="" if actor.standing.pseudonym else user.username,
        author_display_name=actor.standing.pseudonym or user.display_name,
        author_is_leader=actor.is_leader,
        author_is_expert=user.is_expert and not actor.standing.pseudonym,
        author_is_admin=user.is_admin and not actor.standing.pseudonym,
        client_msg_id=client_msg_id,
        body=text,
        state=stored.state,
        state_reason="",
        created_at=stored.created_at,
        edited_at=None,
        author_alias=actor.standing.alias,
        reply_to_seq=original.seq if original else None,
        reply_to_author=original.author_display_name if original else None,
        reply_to_excerpt=original.body[:EXCERPT_CHARS] if original else None,
    )


async def do_remove_message(
    connection: asyncpg.Connection, actor: Actor, room: Room, *, community_slug: str, seq: int, reason: str
) -> Message:
    """A leader who outranks its author removes a message (as hiding a post): members and the resume path stop
    serving it; leaders still see it, marked."""
    user = require_moderator(actor)
    message = await messages.by_seq(connection, room.id, seq)
    if message is None:
        raise not_found(_("That message does not exist."))
    require_outranks(actor, await author_actor(connection, message.author_id, room.community_id))
    clean = " ".join(reason.split())[:500]
    if not clean:  # its author is told why, privately
        raise bad_request(_("Please give a reason: the member will see it."), "reason")
    async with events.unit_of_work(connection):
        removed = await messages.set_state(connection, message.id, "hidden", clean, user.id)
        events.emit(events.RoomMessageGone(community_slug, room.slug, seq))
        # The author is told privately, with the reason; once (removing it again changes nothing).
        await record_message_decision(
            connection,
            user.id,
            room,
            message,
            community_slug=community_slug,
            action="remove_message",
            told="hidden",
            reason=clean,
            tell=message.state != "hidden",
        )
        # Removing a flagged message answers its flags, as hiding a flagged post does.
        await flags.resolve(connection, post_id=None, message_id=message.id, status="upheld", handled_by=user.id)
        await waiting.settle(connection, room.community_id, f"message:{message.id}")
    assert removed is not None
    return removed


# --- authors' edits and deletions, reactions ---------------------------------------------------


async def _message_at(connection: asyncpg.Connection, room: Room, seq: int) -> Message:
    message = await messages.by_seq(connection, room.id, seq)
    if message is None:
        raise not_found(_("That message does not exist."))
    return message


async def do_edit_message(
    connection: asyncpg.Connection,
    actor: Actor,
    room: Room,
    *,
    community_slug: str,
    community: access.Where,
    seq: int,
    body: str,
) -> None:
    """The author changes their message's text; the room sees it "edited", leaders can read the earlier texts.

    The same text again (a repeated frame) changes nothing and tells nobody.
    """
    text = check_body(body)
    message = await _message_at(connection, room, seq)
    user = access.require_own_message(actor, community, message.author_id)
    if message.state == "deleted":
        raise not_found(_("That message does not exist."))
    if message.state != "visible":
        raise InvalidInput(_("This message cannot be edited now."))
    async with events.unit_of_work(connection):
        edited_at = await messages.edit(connection, message.id, text)
        if edited_at is None:
            return  # the same text: nothing changed
        events.emit(events.RoomMessageEdited(community_slug, room.slug, seq, text, edited_at))
        await notify.notify_room_mentions(
            connection,
            room_id=room.id,
            community_id=room.community_id,
            actor_id=user.id,
            body=text,
            already=message.body,
            data=_mention_data(room, community_slug, seq),
        )


async def do_delete_message(
    connection: asyncpg.Connection,
    actor: Actor,
    room: Room,
    *,
    community_slug: str,
    community: access.Where,
    seq: int,
) -> None:
    """The author deletes their message: it goes for everyone, leaders too (deleting it again changes nothing)."""
    message = await _message_at(connection, room, seq)
    user = access.require_own_message(actor, community, message.author_id)
    async with events.unit_of_work(connection):
        if await messages.delete(connection, message.id, user.id):
            events.emit(events.RoomMessageGone(community_slug, room.slug, seq, deleted=True))


REACTION_KINDS = ("helped", "thanks")


async def do_react(
    connection: asyncpg.Connection,
    limiter: RateLimiter,
    actor: Actor,
    room: Room,
    *,
    community_slug: str,
    community: access.Where,
    seq: int,
    kind: str,
    on: bool,
) -> None:
    """The member's reaction becomes `kind` (on; it replaces their other kind) or is taken back (off).

    The forum's set and rules: one reaction per member per message, never to one's own. Repeating a
    frame changes nothing and tells nobody, but counts against the member's reaction allowance.
    """
    if kind not in REACTION_KINDS:
        raise bad_request(_("Choose “I helped” or “thank you”."))
    user = access.require_can_write_in(actor, community)
    message = await _message_at(connection, room, seq)
    if message.state != "visible":
        raise not_found(_("That message does not exist."))
    if message.author_id == user.id:
        raise bad_request(_("You cannot react to your own message."))
    if not await limiter.hit(REACTIONS_PER_USER, str(user.id)):
        raise RateLimited(_("You are reacting very quickly; please wait a moment."))
    async with events.unit_of_work(connection):
        # Marking the message changed first locks its row: reactions to it are counted one at a time.
        await message_reactions.touch(connection, message.id)
        current = await message_reactions.current(connection, message.id, user.id)
        if on and current != kind:
            await message_reactions.put(connection, message.id, user.id, kind)
        elif not on and current == kind:
            await message_reactions.remove(connection, message.id, user.id, kind)
        else:
            return  # already so: the frame was repeated
        reactors = await message_reactions.of_message(connection, message.id)
        events.emit(events.RoomReactionsChanged(community_slug, room.slug, seq, tuple(reactors)))


MENTION_CHOICES = 8


async def mention_candidates(
    connection: asyncpg.Connection, actor: Actor, room: Room, community: access.Where, prefix: str
) -> list[Mentionable]:
    """Room members a writer may @mention, by the start of the name the community shows (8 at most)."""
    access.require_can_write_in(actor, community)
    return await notifications.mentionable(connection, room.id, prefix.strip().lstrip("@["), MENTION_CHOICES)


async def edits_of(connection: asyncpg.Connection, actor: Actor, room: Room, seq: int) -> list[Version]:
    """A message's earlier texts, oldest first: for the community's leaders and site admins only."""
    if not access.can_see_edit_history(actor):
        require_moderator(actor)
    message = await _message_at(connection, room, seq)
    if message.state == "deleted":
        raise not_found(_("That message does not exist."))
    return await messages.versions(connection, message.id)


# --- what a socket reads ------------------------------------------------------------------------

# A fresh join without `since` gets this many recent messages; a resume replays at most REPLAY_LIMIT.
RECENT_ON_JOIN = 50
REPLAY_LIMIT = 1000


def community_of(found: RoomInCommunity) -> access.CommunityState:
    """What the access rules read of a room's community, from the room's joined row."""
    return access.CommunityState(
        found.community_status, found.community_visibility, rooms_open=found.community_rooms_open
    )


async def room_for(
    connection: asyncpg.Connection, user: User | None, community_slug: str, room_slug: str
) -> tuple[RoomInCommunity, Actor]:
    """The room and who this member is there, in one round trip (404 for no such room)."""
    found = await rooms.by_names_with_standing(connection, community_slug, room_slug, user.id if user else None)
    if found is None:
        raise NotFound(_("There is no such room."))
    room, standing = found
    return room, Actor(user, room.room.community_id, standing)


@dataclass(frozen=True)
class Replay:
    """A join's answer: the room's epoch and head, then every seq the client lacks up to the head, once.

    history holds (seq, message) in seq order; message None means "not for this reader" (removed,
    or someone else's held message), so the client knows that seq is accounted for. resync is set
    instead when the client's place cannot be honoured (epoch_changed, ahead_of_head, too_far_behind).
    changes (a resume only): messages up to `since` that changed (edited, deleted, removed, approved,
    reacted to) when the room's head was `since` or later, in their current state, or None where this
    reader may no longer see them; applying one the client already has changes nothing.
    """

    found: RoomInCommunity
    actor: Actor
    epoch: str
    head_seq: int
    resync: ResyncReason | None
    history: list[tuple[int, Message | None]]
    presence_hidden: bool
    changes: list[tuple[Message, bool]] = field(default_factory=list)


async def replay(
    connection: asyncpg.Connection,
    user: User | None,
    community_slug: str,
    room_slug: str,
    *,
    since: int | None,
    epoch: str | None,
) -> Replay:
    """What a reader who may read the room gets on joining it (404, or the ban's reason, otherwise)."""
    found, actor = await room_for(connection, user, community_slug, room_slug)
    access.require_can_read_room(actor, community_of(found))
    room = found.room
    current_epoch, head_seq = await rooms.head(connection, room.id) or (room.epoch, room.last_seq)

    def resync(reason: ResyncReason) -> Replay:
        return Replay(found, actor, current_epoch, head_seq, reason, [], False)

    if since is not None and epoch is not None and epoch != current_epoch:
        return resync("epoch_changed")
    if since is not None and since > head_seq:
        return resync("ahead_of_head")
    if since is not None and head_seq - since > REPLAY_LIMIT:
        return resync("too_far_behind")
    viewer = user.id if user else None
    history: list[tuple[int, Message | None]]
    if since is None:
        recent = await messages.recent(
            connection, room.id, viewer_id=viewer, include_removed=actor.can_moderate, limit=RECENT_ON_JOIN
        )
        history = [(message.seq, message) for message in recent if message.seq <= head_seq]
    else:
        # Every seq in (since, head] once: a message if this viewer may see it, else a remove.
        history = [
            (message.seq, message if messages.visible_to(message, viewer, moderator=actor.can_moderate) else None)
            for message in await messages.in_range(connection, room.id, since, head_seq)
        ]
    changes: list[tuple[Message, bool]] = []
    if since is not None:
        changes = [
            (message, messages.visible_to(message, viewer, moderator=actor.can_moderate))
            for message in await messages.changed_since(connection, room.id, since, REPLAY_LIMIT)
        ]
    hidden = await rooms.hides_presence(connection, room.id, viewer) if viewer is not None else False
    return Replay(found, actor, current_epoch, head_seq, None, history, hidden, changes)


async def do_mark_read(
    connection: asyncpg.Connection, user: User, community_slug: str, room_slug: str, seq: int
) -> None:
    """The member has read the room up to seq (never past its head)."""
    found = await rooms.by_names(connection, community_slug, room_slug)
    if found is not None:
        async with events.unit_of_work(connection, single_statement=True):
            position, unread = await rooms.mark_read_and_count(
                connection, found.room.id, user.id, min(seq, found.room.last_seq)
            )
            # The member's other pages (room lists, on any process) lower this room's count.
            events.emit(events.RoomRead(user.id, community_slug, room_slug, position, unread))

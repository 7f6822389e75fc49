"""Private conversations between connected families: read, send (idempotent, numbered like a room), block, report.

A conversation is an accepted connection (server/actions/families.py). It reuses the live rooms' machinery:
messages are checked like chat messages (chat.check_message), numbered gap-free with one client id per author,
committed before they are acknowledged, and replayed on a join after `since` like a room (chat.REPLAY_LIMIT).
Only its two participants read it: not the community's leaders, not site admins (access.can_read_conversation);
a report hands site admins the messages up to the report, and nothing after it (access.can_read_report).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import asyncpg

from channels.protocol import ResyncReason
from server.actions import access, chat, events, notifications
from server.actions import families as family_actions
from server.actions.access import Actor, actor_for
from server.db.queries import conversations, families
from server.db.queries.conversations import Report
from server.db.queries.families import Connection
from server.db.queries.messages import Message
from server.db.queries.names import shown_id
from server.db.queries.users import User
from server.errors import InvalidInput, RateLimited, bad_request, conflict, not_found
from server.i18n import _
from server.ratelimit import MESSAGES_PER_USER, RateLimiter

TOPIC_PREFIX = "dm:"
MAX_REASON_CHARS = 1000
REPORT_MESSAGES = 200


def topic_of(conversation_id: int) -> str:
    """The hub topic of a conversation, and the `room` its frames name."""
    return f"{TOPIC_PREFIX}{conversation_id}"


def id_of(topic: str) -> int | None:
    """The conversation a frame's room names ("dm:<id>"), or None for any other room."""
    value = topic.removeprefix(TOPIC_PREFIX)
    if topic == value or not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


@dataclass(frozen=True)
class Opened:
    """A conversation as one participant sees it, with who they are in its community."""

    conversation: Connection
    actor: Actor
    community: access.CommunityState

    @property
    def my_id(self) -> int:
        """The id this participant is known by in the conversation's frames (names.shown_id)."""
        return shown_id(self.actor.user_id, self.actor.standing.alias)

    @property
    def other_shown_id(self) -> int:
        return shown_id(self.conversation.other_id, self.conversation.other_alias)

    @property
    def muted_notice(self) -> str | None:
        """Why and until when this participant may not write here: a mute in the whole community counts in its
        conversations (access.can_send_in_conversation); a mute in one of its rooms does not."""
        return access.muted_notice(self.actor)

    @property
    def muted_until(self) -> str:
        """When that mute ends, for the page's timer ("" for none, or for one a leader must lift)."""
        until = access.mute_ends_at(self.actor)
        return until.isoformat() if until is not None else ""


async def open_conversation(connection: asyncpg.Connection, user: User | None, conversation_id: int) -> Opened:
    """The conversation for one of its participants; to anyone else (leaders, site admins) it does not exist."""
    if user is None:
        access.require_signed_in(Actor(None, 0, access.ANONYMOUS))
    assert user is not None
    found = await families.connection_for(connection, conversation_id, user.id)
    if found is None:
        raise not_found(_("There is no such conversation."))
    actor = await actor_for(connection, user, found.community_id)
    access.require_conversation(actor, participant=True, status=found.status)
    state = access.CommunityState(found.community_status, found.community_visibility)
    return Opened(found, actor, state)


async def mine(connection: asyncpg.Connection, user: User | None, *, ended: bool = False) -> list[Connection]:
    """The member's open conversations (or, `ended`, those that ended and may still be reported), in every
    community, each other person under their name there."""
    member = access.require_signed_in(Actor(user, 0, access.ANONYMOUS))
    return await families.connections_of(connection, member.id, statuses=("ended",) if ended else ("accepted",))


async def history(connection: asyncpg.Connection, opened: Opened) -> list[Message]:
    """The latest messages for the conversation's page; the reader has now been shown them."""
    found = await conversations.recent(connection, opened.conversation.id, limit=chat.RECENT_ON_JOIN)
    await conversations.mark_read(
        connection, opened.conversation.id, opened.actor.user_id, opened.conversation.last_seq
    )
    return found


async def do_mark_read(connection: asyncpg.Connection, user: User | None, conversation_id: int, seq: int) -> None:
    """A `read` frame: the participant has seen the conversation up to `seq`."""
    opened = await open_conversation(connection, user, conversation_id)
    await conversations.mark_read(connection, conversation_id, opened.actor.user_id, seq)


@dataclass(frozen=True)
class Replay:
    """A join's answer, as for a room (chat.Replay): the epoch and head, then every seq the client lacks."""

    opened: Opened
    epoch: str
    head_seq: int
    resync: ResyncReason | None
    history: list[Message]


async def replay(
    connection: asyncpg.Connection, user: User | None, conversation_id: int, *, since: int | None, epoch: str | None
) -> Replay:
    opened = await open_conversation(connection, user, conversation_id)
    current = await conversations.heads(connection, [conversation_id])
    current_epoch, head_seq = current.get(conversation_id, (opened.conversation.epoch, opened.conversation.last_seq))

    def resync(reason: ResyncReason) -> Replay:
        return Replay(opened, current_epoch, head_seq, reason, [])

    if since is not None and epoch is not None and epoch != current_epoch:
        return resync("epoch_changed")
    if since is not None and since > head_seq:
        return resync("ahead_of_head")
    if since is not None and head_seq - since > chat.REPLAY_LIMIT:
        return resync("too_far_behind")
    if since is None:
        found = await conversations.recent(connection, conversation_id, limit=chat.RECENT_ON_JOIN, up_to=head_seq)
    else:
        found = await conversations.in_range(connection, conversation_id, since, head_seq)
    # A join (or the API's read) hands the reader everything up to the head.
    await conversations.mark_read(connection, conversation_id, opened.actor.user_id, head_seq)
    return Replay(opened, current_epoch, head_seq, None, found)


@dataclass(frozen=True)
class Sent:
    message: Message
    epoch: str
    duplicate: bool


async def do_send(
    connection: asyncpg.Connection,
    limiter: RateLimiter,
    user: User | None,
    conversation_id: int,
    *,
    client_msg_id: str,
    body: str,
    present: Collection[int] = (),
) -> Sent:
    """Commit a message (or find the one committed under this client id) and return it. `present`: the ids
    (as frames know them) of people with the conversation open now; the other participant is notified when
    they are not among them (once until they read their notifications)."""
    text = chat.check_message(body, client_msg_id)
    opened = await open_conversation(connection, user, conversation_id)
    me = access.require_send_in_conversation(
        opened.actor, opened.community, participant=True, status=opened.conversation.status
    )
    existing = await conversations.by_client_id(connection, conversation_id, me.id, client_msg_id)
    if existing is not None:
        return Sent(chat.require_retry_of(existing, text), opened.conversation.epoch, duplicate=True)
    if not await limiter.hit(MESSAGES_PER_USER, str(me.id)):
        raise RateLimited(_("You are sending messages very quickly; please wait a moment."))
    other_present = opened.other_shown_id in present
    notify = not other_present and not await conversations.has_unread_notice(
        connection, opened.conversation.other_id, conversation_id
    )
    async with events.unit_of_work(connection, answer_first=True):
        stored = await conversations.store_next(
            connection, conversation_id, me.id, client_msg_id, text, other_present=other_present
        )
        if stored is None:
            existing = await conversations.by_client_id(connection, conversation_id, me.id, client_msg_id)
            if existing is None:
                raise conflict(_("This conversation has ended."))
            return Sent(chat.require_retry_of(existing, text), opened.conversation.epoch, duplicate=True)
        message = Message(
            id=stored.id,
            room_id=conversation_id,
            seq=stored.seq,
            author_id=me.id,
            author_username="" if opened.actor.standing.pseudonym else me.username,
            author_display_name=opened.actor.standing.pseudonym or me.display_name,
            author_is_leader=False,
            client_msg_id=client_msg_id,
            body=text,
            state="visible",
            state_reason="",
            created_at=stored.created_at,
            edited_at=None,
            author_alias=opened.actor.standing.alias,
        )
        events.emit(events.ConversationMessageShown(conversation_id, stored.epoch, message))
        if notify:
            await notifications.create(
                connection,
                [(opened.conversation.other_id, "conversation")],
                community_id=opened.conversation.community_id,
                thread_id=None,
                post_id=None,
                actor_id=me.id,
                data={"event": "message", "conversation": conversation_id, "url": f"/conversations/{conversation_id}"},
            )
    return Sent(message, stored.epoch, duplicate=False)


def check_reason(reason: str, *, required: bool) -> str:
    clean = " ".join(reason.split())
    if "\x00" in clean:
        raise bad_request(_("This field cannot contain the NUL character (U+0000)."), "reason")
    if required and not clean:
        raise bad_request(_("Say in a few words what is wrong, for the site admins."), "reason")
    if len(clean) > MAX_REASON_CHARS:
        raise InvalidInput(_("At most %(max)d characters.") % {"max": MAX_REASON_CHARS}, field="reason")
    return clean


async def do_report(connection: asyncpg.Connection, user: User | None, conversation_id: int, reason: str) -> int:
    """A participant reports the conversation to site admins (never to leaders), while it is open or after it
    ended: the report hands them the messages up to now, and every site admin is notified."""
    clean = check_reason(reason, required=True)
    found = await families.connection_for(connection, conversation_id, user.id) if user else None
    reporter = access.require_report_conversation(
        Actor(user, 0, access.ANONYMOUS), participant=found is not None, status=found.status if found else ""
    )
    async with events.unit_of_work(connection):
        report_id = await conversations.create_report(connection, conversation_id, reporter.id, clean)
        admins = await conversations.admin_ids(connection)
        await notifications.create(
            connection,
            [(admin, "conversation") for admin in admins],
            community_id=None,
            thread_id=None,
            post_id=None,
            actor_id=reporter.id,
            data={"event": "reported", "url": f"/admin/conversation-reports/{report_id}"},
        )
    return report_id


async def do_block(connection: asyncpg.Connection, user: User | None, conversation_id: int) -> None:
    """Block the other participant: every open request and conversation between the two ends (in every
    community, both ways), and neither can ask the other to connect again."""
    opened = await open_conversation(connection, user, conversation_id)
    async with events.unit_of_work(connection):
        await family_actions.block_between(connection, opened.actor.user_id, opened.conversation.other_id)


@dataclass(frozen=True)
class ReportView:
    report: Report
    messages: list[Message]


async def reports_for_admins(connection: asyncpg.Connection, user: User | None) -> list[Report]:
    access.require_report_reader(user)
    return await conversations.reports(connection)


async def report_for_admins(connection: asyncpg.Connection, user: User | None, report_id: int) -> ReportView:
    """What a report hands to site admins: the messages up to the report, never those sent after it."""
    access.require_report_reader(user)
    found = await conversations.report(connection, report_id)
    if found is None:
        raise not_found(_("There is no such report."))
    messages = await conversations.recent(
        connection, found.conversation_id, limit=REPORT_MESSAGES, up_to=found.up_to_seq
    )
    return ReportView(found, messages)


async def do_resolve_report(connection: asyncpg.Connection, user: User | None, report_id: int) -> None:
    admin = access.require_report_reader(user)
    if await conversations.report(connection, report_id) is None:
        raise not_found(_("There is no such report."))
    await conversations.resolve_report(connection, report_id, admin.id)

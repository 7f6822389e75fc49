"""Events of a unit of work: collected while its transaction runs, published once after it commits.

Zulip's send_event_on_commit is the model. An action that changes what others see opens
`unit_of_work(connection)` instead of a bare transaction and calls `emit(...)` inside it; when
the outermost unit commits, its events go to the process's publisher (the live service) once,
in order; when it rolls back, they are dropped. So the same action sends the same events
whether a page, the JSON API or the websocket called it, and no transport publishes anything.

The publisher is the running app's, set for each request and socket by `use_publisher`
(server/app.py); code run outside a server (scripts, tests of a single action) has none, and
its events go nowhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

import asyncpg

from server.db.queries.message_reactions import Reactor
from server.db.queries.messages import Message

log = logging.getLogger(__name__)


# --- the events ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostChanged:
    """A post of a thread was added, edited, reacted to, hidden or restored: open copies fetch it again."""

    thread_id: int
    post_id: int
    change: Literal["new", "edit", "remove"]
    # "members": a post meant for members only; only watchers who may read it are told (server.live).
    audience: str = "everyone"


@dataclass(frozen=True, slots=True)
class Notified:
    """A notification was created for this member: their open pages count it."""

    user_id: int
    notification_id: int
    # The community (slug) whose review queue this notification is about ("" for none): a leader's badge there.
    review: str = ""


@dataclass(frozen=True, slots=True)
class NotificationsSettled:
    """An item waiting for leaders (or admins) was dealt with: this member's notifications about it are read."""

    user_id: int
    count: int
    review: str = ""
    # Which item (so that two items settled in one transaction stay two events: see _publish's dedup).
    item: str = ""


@dataclass(frozen=True, slots=True)
class RoomMessageShown:
    """A chat message everyone in the room may now see (sent, approved, or shown again).

    new: the send that stored it (its seq is announced for the first time), not a later change;
    a client that already got that seq from history is not sent it again (LiveService.publish).
    """

    community_slug: str
    room_slug: str
    epoch: str
    message: Message
    new: bool = False


@dataclass(frozen=True, slots=True)
class RoomMessageGone:
    """A chat message others may not see (removed, held, or rejected: its author's page marks it so).

    new: as for RoomMessageShown (a message held for review as it is sent).
    """

    community_slug: str
    room_slug: str
    seq: int
    rejected: bool = False
    new: bool = False
    deleted: bool = False  # its author deleted it: gone for leaders too


@dataclass(frozen=True, slots=True)
class RoomMessageEdited:
    """A chat message's author changed its text."""

    community_slug: str
    room_slug: str
    seq: int
    body: str
    edited_at: datetime


@dataclass(frozen=True, slots=True)
class RoomReactionsChanged:
    """The reactions to a chat message changed: every reactor it has now, in order."""

    community_slug: str
    room_slug: str
    seq: int
    reactors: tuple[Reactor, ...]


@dataclass(frozen=True, slots=True)
class MemberRemoved:
    """A member was banned from a community: their open sockets in it close on every process."""

    user_id: int
    community_id: int


@dataclass(frozen=True, slots=True)
class MemberMuted:
    """A leader muted a member in one room (room_slug) or the whole community (None): their open pages are told."""

    user_id: int
    community_slug: str
    room_slug: str | None
    reason: str
    until: datetime | None  # None: until a leader lifts it


@dataclass(frozen=True, slots=True)
class MemberUnmuted:
    """A leader lifted a member's mutes in a community: their open pages may write again."""

    user_id: int
    community_slug: str


@dataclass(frozen=True, slots=True)
class MemberRenamed:
    """A member's name in a community changed (a pseudonym set or dropped): their sockets in its rooms
    close to resume on every process, so they join again and presence shows the new name."""

    user_id: int
    community_id: int


@dataclass(frozen=True, slots=True)
class ReadingRulesChanged:
    """Who may read a community changed: its rooms' open sockets close on every process to join again."""

    community_id: int


@dataclass(frozen=True, slots=True)
class ConversationMessageShown:
    """A private conversation's new message: its two participants' open sockets get it (topic "dm:<id>")."""

    conversation_id: int
    epoch: str
    message: Message


@dataclass(frozen=True, slots=True)
class ConversationEnded:
    """A conversation ended (one blocked the other): its open sockets are told, and nothing more is sent in it."""

    conversation_id: int


@dataclass(frozen=True, slots=True)
class RoomRead:
    """A member read a room: how many messages are still unread there for them."""

    user_id: int
    community_slug: str
    room_slug: str
    seq: int  # read up to here
    unread: int


Event = (
    PostChanged
    | Notified
    | NotificationsSettled
    | RoomMessageShown
    | RoomMessageGone
    | RoomRead
    | RoomMessageEdited
    | RoomReactionsChanged
    | MemberRemoved
    | MemberMuted
    | MemberUnmuted
    | MemberRenamed
    | ReadingRulesChanged
    | ConversationMessageShown
    | ConversationEnded
)


class Publisher(Protocol):
    async def publish_events(self, events: Sequence[Event]) -> None: ...


# --- the unit of work ----------------------------------------------------------------------


@dataclass(eq=False)
class UnitOfWork:
    events: list[Event] = field(default_factory=list)


_publisher: ContextVar[Publisher | None] = ContextVar("kindred_publisher", default=None)
_current: ContextVar[UnitOfWork | None] = ContextVar("kindred_unit_of_work", default=None)


def use_publisher(publisher: Publisher | None) -> None:
    """Events committed from now on in this task (and the tasks it starts) go to this publisher."""
    _publisher.set(publisher)


@contextlib.contextmanager
def publishing_to(publisher: Publisher | None) -> Iterator[None]:
    """`use_publisher` for a block (tests, background jobs)."""
    token = _publisher.set(publisher)
    try:
        yield
    finally:
        _publisher.reset(token)


def emit(event: Event) -> None:
    """Publish this event once the enclosing unit of work commits (never if it rolls back)."""
    work = _current.get()
    if work is None:
        raise RuntimeError("emit() outside unit_of_work(): an event must wait for its transaction to commit")
    work.events.append(event)


# Publications started by answer_first units, kept referenced until they finish.
_publishing: set[asyncio.Task[None]] = set()
_last_publication: asyncio.Task[None] | None = None


async def _publish_after(previous: asyncio.Task[None] | None, events: list[Event]) -> None:
    if previous is not None and not previous.done() and previous.get_loop() is asyncio.get_running_loop():
        await asyncio.wait([previous])
    await _publish(events)


@contextlib.asynccontextmanager
async def unit_of_work(
    connection: asyncpg.Connection, *, single_statement: bool = False, answer_first: bool = False
) -> AsyncIterator[None]:
    """A transaction whose events are published once it commits.

    Nested inside another unit of work (an action calling another), it becomes a savepoint and
    its events wait for the outermost commit. single_statement: the block runs one autocommitted
    statement (a chat message's insert), so no BEGIN/COMMIT round trips are spent on it.
    answer_first: the events are published by a task started at the commit, so the caller answers
    before they go out: a chat message's sender gets its ack as soon as the message is committed,
    without waiting for Redis and for this process's own fan-out of it (docs/benchmarks.md).
    """
    outer = _current.get()
    if outer is not None:
        if single_statement:
            yield
        else:
            async with connection.transaction():
                yield
        return
    work = UnitOfWork()
    token = _current.set(work)
    try:
        if single_statement:
            yield
        else:
            async with connection.transaction():
                yield
    finally:
        _current.reset(token)
    # Only reached when the block (and its transaction) finished without raising: committed.
    if answer_first and work.events:
        global _last_publication
        # Each waits for the one before it: publications leave in commit order (one sender's messages
        # in seq order), whichever pooled Redis connection each would get. The publisher rides in the context.
        task = asyncio.get_running_loop().create_task(_publish_after(_last_publication, work.events))
        _last_publication = task
        _publishing.add(task)
        task.add_done_callback(_publishing.discard)
        return
    await _publish(work.events)


async def settle() -> None:
    """Wait until the publications answer_first units started have gone out (tests, shutdown)."""
    while _publishing:
        await asyncio.gather(*list(_publishing), return_exceptions=True)


async def _publish(events: list[Event]) -> None:
    publisher = _publisher.get()
    if publisher is None or not events:
        return
    unique = list(dict.fromkeys(events))  # the same change twice in one transaction is one event
    try:
        await publisher.publish_events(unique)
    except Exception:
        # The change is committed: clients catch up from Postgres; a publishing failure must not
        # turn a successful action into an error.
        log.warning("could not publish %d events after commit", len(unique), exc_info=True)

"""The live service of one process: the channels/ hub, broker and presence wired to Kindred's rooms and users."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

import asyncpg
import msgspec

from channels import protocol
from channels.broker import Broker
from channels.connection import Connection
from channels.hub import Hub
from channels.presence import Presence
from channels.redis_client import RedisClient
from server.actions import access, events
from server.actions.conversations import id_of as conversation_id_of
from server.actions.conversations import topic_of as conversation_topic
from server.actions.events import (
    ConversationEnded,
    ConversationMessageShown,
    Event,
    MemberMuted,
    MemberRemoved,
    MemberRenamed,
    MemberUnmuted,
    NotificationsSettled,
    Notified,
    PostChanged,
    ReadingRulesChanged,
    RoomMessageEdited,
    RoomMessageGone,
    RoomMessageShown,
    RoomReactionsChanged,
    RoomRead,
)
from server.db.queries import conversations, rooms
from server.db.queries.message_reactions import Reactor
from server.db.queries.messages import Message
from server.db.queries.names import shown_id as shown_id
from server.db.queries.users import User
from server.metrics import Metrics

log = logging.getLogger(__name__)

# Topics: "<community slug>/<room slug>" for rooms (the name clients use), "user:<id>" for control
# messages about one member (logout, ban) and "member:<id>" for that member's notifications.
USER_TOPIC = "user:"
# Every process listens here for a community whose reading rules changed.
COMMUNITIES_TOPIC = "communities"
# New messages remembered per process so one is never handed to its sockets twice; a late copy from Redis
# comes within a second or two of the local delivery, a few thousand messages' worth even when busy.
NEW_DELIVERED_KEPT = 4096


def user_topic(user_id: int) -> str:
    return f"{USER_TOPIC}{user_id}"


def room_topic(community_slug: str, room_slug: str) -> str:
    return f"{community_slug}/{room_slug}"


def thread_topic(thread_id: int, audience: str = "everyone") -> str:
    """A thread's watchers; changes to posts meant for members only go to a topic of their own, which
    only watchers who may read such posts follow (so others never learn that one was written)."""
    return f"thread:{thread_id}" if audience == "everyone" else f"thread:{thread_id}:members"


def member_topic(user_id: int) -> str:
    return f"member:{user_id}"


def room_list_topic(community_slug: str) -> str:
    """Watchers of a community's room list: told of each new message in its rooms (not its text)."""
    return f"rooms:{community_slug}"


def badge_for(is_leader: bool, is_expert: bool = False, is_admin: bool = False) -> str | None:
    if is_leader:
        return "leader"
    if is_admin:
        return "admin"
    if is_expert:
        return "expert"
    return None


def wire_user(user: User, *, is_leader: bool, pseudonym: str | None = None, alias: int | None = None) -> protocol.User:
    if pseudonym and alias is not None:
        return protocol.User(
            id=shown_id(user.id, alias), username="", display_name=pseudonym, badge=None if not is_leader else "leader"
        )
    return protocol.User(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        badge=badge_for(is_leader, user.is_expert, user.is_admin),
    )


# The forum's reaction set, in the order it is shown.
REACTION_KINDS = ("helped", "thanks")


def wire_reactions(reactors: Iterable[Reactor]) -> list[protocol.Reaction]:
    """Reactions grouped by kind, each reactor by their wire id and the name the community shows."""
    by_kind: dict[str, list[protocol.User]] = {}
    for reactor in reactors:
        by_kind.setdefault(reactor.kind, []).append(
            protocol.User(
                id=reactor.shown_user_id,
                username=reactor.username,
                display_name=reactor.display_name,
                badge="leader" if reactor.is_leader else None,
            )
        )
    return [protocol.Reaction(kind=kind, users=by_kind[kind]) for kind in REACTION_KINDS if kind in by_kind]


def reactions_json(message: Message) -> str:
    """A message's reactions as the room page hands them to its script (the frames' form)."""
    return msgspec.json.encode(wire_reactions(message.reactions)).decode()


def quote_of(message: Message) -> protocol.Quote | None:
    """What a reply shows of the message it answers: "message removed" once that is not visible."""
    if message.reply_to_seq is None:
        return None
    if message.reply_to_excerpt is None:
        return protocol.Quote(seq=message.reply_to_seq, removed=True)
    return protocol.Quote(seq=message.reply_to_seq, author=message.reply_to_author, excerpt=message.reply_to_excerpt)


def message_frame(topic: str, epoch: str, message: Message) -> protocol.Message:
    author = None
    if message.author_id is not None and message.author_alias is not None:
        author = protocol.User(
            id=shown_id(message.author_id, message.author_alias),
            username="",
            display_name=message.author_display_name,
            badge="leader" if message.author_is_leader else None,
        )
    elif (
        message.author_id is not None and message.author_username and not message.author_username.startswith("deleted-")
    ):
        author = protocol.User(
            id=message.author_id,
            username=message.author_username,
            display_name=message.author_display_name,
            badge=badge_for(message.author_is_leader, message.author_is_expert, message.author_is_admin),
        )
    return protocol.Message(
        room=topic,
        seq=message.seq,
        epoch=epoch,
        id=message.id,
        author=author,
        body=message.body,
        created_at=message.created_at,
        client_id=message.client_msg_id,
        edited_at=message.edited_at,
        held=message.state == "held",
        removed=message.state == "hidden",
        reply_to=quote_of(message),
        reactions=wire_reactions(message.reactions),
    )


def joined_mute(actor: access.Actor, room: str) -> protocol.Mute | None:
    """The mute in force on the member where they joined (the `joined` answer's `muted`), if any."""
    if actor.user is None or not access.is_muted(actor):
        return None
    standing = actor.standing
    in_room = room if standing.mute_room_id is not None else None
    return protocol.Mute(reason=standing.mute_reason, room=in_room, until=access.mute_ends_at(actor))


@dataclass(eq=False, slots=True)
class Client:
    """One websocket client: its connection, who it is, and the rooms it has joined."""

    connection: Connection
    user: User | None
    session_hash: bytes | None
    rooms: dict[str, int] = field(default_factory=dict)  # topic → community id
    # topic → the id presence knows this user by there (names.shown_id: minus the alias under a pseudonym)
    presence_ids: dict[str, int] = field(default_factory=dict)
    watching: set[str] = field(default_factory=set)  # thread, member and room-list topics
    room_lists: dict[str, int] = field(default_factory=dict)  # room-list topic → community id


class LiveService:
    """Publishes after commit, fans out what Redis brings, and closes sockets on logout or ban.

    Every payload published to Redis carries a small envelope, the publishing time in ns and a
    newline, so each process can measure send-to-deliver latency without touching the JSON. A
    new message's envelope also carries its seq (`<ns> <seq>\n`): a message is published after
    its commit, so its publication can reach a process after a client joining the room was sent
    that seq from history; the hub then skips that client (Connection.release, floor).
    """

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        redis: RedisClient,
        metrics: Metrics,
        head_reader: HeadReader,
        *,
        presence_ttl: float = 30.0,
        publish_connections: int = 20,
        cluster: bool = False,
    ) -> None:
        self.metrics = metrics
        self.head_reader = head_reader
        self.broker = Broker(
            redis_url,
            prefix + "live:",
            cluster=cluster,
            on_reconnect=self._on_reconnect,
            publish_connections=publish_connections,
        )
        # Our envelope comes off, and control topics are handled, before the hub delivers.
        self.hub = Hub(self.broker, receive=self._on_message)
        self.presence = Presence(redis, prefix + "presence:", self.publish, ttl=presence_ttl)
        self.clients: set[Client] = set()
        self._by_user: dict[int, set[Client]] = {}
        # The latest new messages handed to local sockets, by topic and envelope header (see _on_message).
        self._new_delivered: collections.OrderedDict[tuple[str, bytes], None] = collections.OrderedDict()
        self._started = False
        metrics.live_clients.set_function(lambda: len(self.clients))
        metrics.live_users.set_function(lambda: len(self._by_user))
        metrics.hub_topics.set_function(lambda: len(self.hub.topics))
        metrics.hub_memberships.set_function(self.hub.membership_count)
        metrics.broker_channels.set_function(lambda: len(self.broker.topics))
        metrics.broker_shards.set_function(lambda: len(self.broker.shards))
        metrics.presence_rooms.set_function(lambda: self.presence.local_counts()[0])
        metrics.presence_members.set_function(lambda: self.presence.local_counts()[1])

    async def start(self) -> None:
        await self.broker.start()
        await self.broker.subscribe(COMMUNITIES_TOPIC)
        await self.presence.start()
        self._started = True

    async def stop(self) -> None:
        """Close every socket with 1012 (restarting) so clients resume elsewhere, then leave Redis."""
        await asyncio.gather(
            *(
                client.connection.close(protocol.CloseCode.RESTARTING, "server restarting")
                for client in list(self.clients)
            ),
            return_exceptions=True,
        )
        with contextlib.suppress(Exception):
            await self.presence.stop()
        # Committed messages whose publication is still on its way go out before Redis is left.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await events.settle()
        await self.broker.stop()

    # --- clients ------------------------------------------------------------------------------

    async def add(self, client: Client) -> None:
        self.clients.add(client)
        self.metrics.open_sockets.inc()
        if client.user is not None:
            self._by_user.setdefault(client.user.id, set()).add(client)
            await self.hub.join(user_topic(client.user.id), client.connection)

    async def remove(self, client: Client) -> None:
        if client not in self.clients:
            return
        self.clients.discard(client)
        self.metrics.open_sockets.dec()
        if client.connection.close_code == protocol.CloseCode.RESUME:
            self.metrics.dropped_slow_clients.inc()
        if client.user is not None:
            mine = self._by_user.get(client.user.id)
            if mine is not None:
                mine.discard(client)
                if not mine:
                    del self._by_user[client.user.id]
            for topic in list(client.rooms):
                with contextlib.suppress(Exception):
                    await self.presence.leave(topic, client.presence_ids.get(topic, client.user.id))
        client.rooms.clear()
        client.presence_ids.clear()
        await self.hub.leave_all(client.connection)

    # --- publishing ---------------------------------------------------------------------------

    async def publish(self, topic: str, payload: bytes, *, new_seq: int | None = None) -> bool:
        """Send to every process; if Redis cannot take it, this process's own clients still get it now.

        new_seq: the seq payload announces for the first time (a new message), if any.
        """
        if new_seq is None:
            return await self.hub.publish(topic, b"%d\n" % time.time_ns() + payload)
        return await self.hub.publish(topic, b"%d %d\n" % (time.time_ns(), new_seq) + payload)

    async def publish_frame(self, topic: str, frame: msgspec.Struct, *, new_seq: int | None = None) -> bool:
        return await self.publish(topic, protocol.encode(frame), new_seq=new_seq)

    async def publish_events(self, batch: Sequence[Event]) -> None:
        """A unit of work committed (server/actions/events.py): each event, as the frame its watchers expect."""
        counts: dict[tuple[int, str], int] = {}
        for event in batch:
            if isinstance(event, RoomMessageShown):
                topic = room_topic(event.community_slug, event.room_slug)
                frame = message_frame(topic, event.epoch, event.message)
                await self.publish_frame(topic, frame, new_seq=event.message.seq if event.new else None)
                if event.message.state == "visible":  # sent, approved or shown again: the lists count it
                    author = frame.author.id if frame.author is not None else None
                    activity = protocol.RoomActivity(room=topic, seq=event.message.seq, author=author)
                    await self.publish_frame(room_list_topic(event.community_slug), activity)
            elif isinstance(event, RoomRead):
                topic = room_topic(event.community_slug, event.room_slug)
                await self.publish_frame(
                    member_topic(event.user_id), protocol.Unread(room=topic, seq=event.seq, count=event.unread)
                )
            elif isinstance(event, RoomMessageGone):
                topic = room_topic(event.community_slug, event.room_slug)
                gone = protocol.Removed(room=topic, seq=event.seq, rejected=event.rejected, deleted=event.deleted)
                await self.publish_frame(topic, gone, new_seq=event.seq if event.new else None)
                if not event.new and not event.rejected:  # it may have been counted: the lists take it back
                    uncount = protocol.RoomActivity(room=topic, seq=event.seq, gone=True)
                    await self.publish_frame(room_list_topic(event.community_slug), uncount)
            elif isinstance(event, RoomMessageEdited):
                topic = room_topic(event.community_slug, event.room_slug)
                edit = protocol.Edit(room=topic, seq=event.seq, body=event.body, edited_at=event.edited_at)
                await self.publish_frame(topic, edit)
            elif isinstance(event, RoomReactionsChanged):
                topic = room_topic(event.community_slug, event.room_slug)
                reactions = protocol.Reactions(room=topic, seq=event.seq, reactions=wire_reactions(event.reactors))
                await self.publish_frame(topic, reactions)
            elif isinstance(event, PostChanged):
                changed = protocol.ThreadChanged(thread=event.thread_id, post=event.post_id, change=event.change)
                await self.publish_frame(thread_topic(event.thread_id, event.audience), changed)
            elif isinstance(event, Notified):
                counts[event.user_id, event.review] = counts.get((event.user_id, event.review), 0) + 1
            elif isinstance(event, NotificationsSettled):
                key = (event.user_id, event.review)
                counts[key] = counts.get(key, 0) - event.count
            elif isinstance(event, MemberRemoved):
                await self.close_user_sockets(event.user_id, community_id=event.community_id)
            elif isinstance(event, MemberMuted):
                # To the member's own sockets on every process (pages watching member:me), nobody else's.
                room = room_topic(event.community_slug, event.room_slug) if event.room_slug is not None else None
                muted = protocol.Muted(
                    community=event.community_slug, reason=event.reason, room=room, until=event.until
                )
                await self.publish_frame(member_topic(event.user_id), muted)
            elif isinstance(event, MemberUnmuted):
                await self.publish_frame(member_topic(event.user_id), protocol.Unmuted(community=event.community_slug))
            elif isinstance(event, MemberRenamed):
                await self.close_user_sockets(event.user_id, community_id=event.community_id, resume=True)
            elif isinstance(event, ReadingRulesChanged):
                await self.publish(COMMUNITIES_TOPIC, b"%d" % event.community_id)
            elif isinstance(event, ConversationMessageShown):
                # A private conversation is a room of two (topic "dm:<id>", docs/protocol.md).
                topic = conversation_topic(event.conversation_id)
                frame = message_frame(topic, event.epoch, event.message)
                await self.publish_frame(topic, frame, new_seq=event.message.seq)
            elif isinstance(event, ConversationEnded):
                topic = conversation_topic(event.conversation_id)
                ended = protocol.Error(code="forbidden", message="This conversation has ended.", ref=topic)
                await self.publish_frame(topic, ended)
        # Members' open pages count up by how many notifications just arrived for them.
        # (and down by how many were read for them: an item waiting for leaders was dealt with).
        for (user_id, review), count in counts.items():
            if count:
                await self.publish_frame(member_topic(user_id), protocol.Notify(count=count, review=review or None))

    async def close_user_sockets(
        self,
        user_id: int,
        *,
        session_hash: bytes | None = None,
        community_id: int | None = None,
        resume: bool = False,
    ) -> None:
        """Close a member's sockets on every process: one session (logout), or those in a community (ban;
        with `resume`, to join again at once, as after a change of name)."""
        control = {
            "close": True,
            "session": session_hash.hex() if session_hash else None,
            "community": community_id,
            "resume": resume,
        }
        await self.publish(user_topic(user_id), json.dumps(control).encode())

    # --- what Redis brings ----------------------------------------------------------------------

    def _on_message(self, topic: str, envelope: bytes) -> None:
        stamp, _, payload = envelope.partition(b"\n")
        if topic.startswith(USER_TOPIC):
            self._on_control(int(topic[len(USER_TOPIC) :]), payload)
            return
        if topic == COMMUNITIES_TOPIC:
            self._on_reading_rules_changed(payload)
            return
        header = stamp
        stamp, _, seq = stamp.partition(b" ")
        new_seq = int(seq) if seq.isdigit() else None
        if new_seq is not None:
            # A new message reaches this process's sockets once: a publish that timed out after Redis took it
            # was already delivered here by the local fallback (Hub.publish), and Redis brings it back.
            # The envelope's publishing time and seq name one publication (an epoch reset reuses seqs, not times).
            key = (topic, header)
            if key in self._new_delivered:
                return
            self._new_delivered[key] = None
            if len(self._new_delivered) > NEW_DELIVERED_KEPT:
                self._new_delivered.popitem(last=False)
        delivered = self.hub.deliver(topic, payload, new_seq)
        if delivered and payload.startswith(b'{"type":"message"'):
            self.metrics.messages_delivered.inc(delivered)
            with contextlib.suppress(ValueError):
                self.metrics.send_to_deliver_seconds.observe(max(time.time_ns() - int(stamp), 0) / 1e9)

    def _on_control(self, user_id: int, payload: bytes) -> None:
        try:
            control = json.loads(payload)
        except ValueError:
            return
        for client in list(self._by_user.get(user_id, ())):
            session = control.get("session")
            community = control.get("community")
            if session is not None and (client.session_hash is None or client.session_hash.hex() != session):
                continue
            in_community = community in client.rooms.values() or community in client.room_lists.values()
            if community is not None and not in_community:
                continue
            if control.get("resume"):
                client.connection.abort(protocol.CloseCode.RESUME, "name changed")
                continue
            client.connection.abort(
                protocol.CloseCode.LOGGED_OUT, "signed out" if session else "removed from community"
            )

    def _on_reading_rules_changed(self, payload: bytes) -> None:
        """Who may read a community changed: its rooms' sockets here close with "resume", and each
        client joins again under the new rules (a member resumes where it was; an outsider is refused)."""
        if not payload.isdigit():
            return
        community_id = int(payload)
        for client in list(self.clients):
            if community_id in client.rooms.values() or community_id in client.room_lists.values():
                client.connection.abort(protocol.CloseCode.RESUME, "reading rules changed")

    async def _on_reconnect(self) -> None:
        """Redis came back: frames published meanwhile may be lost, so tell each room's clients its head.

        A client behind the head joins again with since = last seq and fills the gap from Postgres.
        """
        self.metrics.redis_reconnects.inc()
        topics = [topic for topic in self.hub.topics if "/" in topic or conversation_id_of(topic) is not None]
        heads = await self.head_reader(topics)
        for topic, (epoch, head) in heads.items():
            self.hub.deliver(topic, protocol.encode(protocol.Joined(room=topic, epoch=epoch, head_seq=head)))


class HeadReader:
    """Reads rooms' epoch and head seq by topic name from Postgres."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def __call__(self, topics: Iterable[str]) -> dict[str, tuple[str, int]]:
        topics = list(topics)
        dms = [found for found in map(conversation_id_of, topics) if found is not None]
        names = [(community, room) for community, _, room in (t.partition("/") for t in topics if "/" in t)]
        if not names and not dms:
            return {}
        try:
            async with self.pool.acquire() as connection:
                found = await rooms.heads(cast(asyncpg.Connection, connection), names) if names else {}
                dm_heads = await conversations.heads(cast(asyncpg.Connection, connection), dms) if dms else {}
        except Exception:
            log.warning("could not read room heads after a Redis reconnect", exc_info=True)
            return {}
        heads = {room_topic(*name): head for name, head in found.items()}
        heads.update({conversation_topic(dm): head for dm, head in dm_heads.items()})
        return heads

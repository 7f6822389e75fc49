"""The /ws endpoint: checks the upgrade, then turns client frames into chat actions and live frames."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from channels import protocol
from channels.connection import Connection
from channels.websocket_protocol import WRITE_NOWAIT
from server import ratelimit
from server.actions import DbConnection, access, chat, conversations, health, threads
from server.actions import rooms as room_actions
from server.actions.access import Actor, User
from server.errors import AppError, NotFound, Refused
from server.i18n import _
from server.live import (
    Client,
    LiveService,
    joined_mute,
    member_topic,
    message_frame,
    room_list_topic,
    shown_id,
    thread_topic,
    wire_user,
)
from server.routes import live_conversations, live_messages

log = logging.getLogger(__name__)

ACQUIRE_TIMEOUT = 5.0
WEBSOCKET_PATH = "/ws"


def _error(code: protocol.ErrorCode, message: str, frame: protocol.ClientFrame) -> str:
    return protocol.encode_text(protocol.error_for(frame, code, message))


class LiveSession:
    """One socket's conversation with the server, after the upgrade was accepted."""

    __slots__ = ("app", "client", "connection", "limiter", "live", "websocket")

    def __init__(self, websocket: WebSocket, live: LiveService, client: Client) -> None:
        self.websocket = websocket
        self.app = websocket.app
        self.live = live
        self.client = client
        self.connection = client.connection
        self.limiter: ratelimit.RateLimiter = websocket.app.state.limiter

    @property
    def user(self) -> User | None:
        return self.client.user

    def send(self, text: str) -> None:
        self.connection.send(text)

    async def _db(self, work: Callable[[DbConnection], Awaitable[Any]]) -> Any:
        async with self.app.state.db.acquire(timeout=ACQUIRE_TIMEOUT) as connection:
            return await work(connection)

    # --- frames -------------------------------------------------------------------------------

    async def handle(self, raw: str | bytes) -> None:
        try:
            frame = protocol.decode_client_frame(raw)
        except protocol.ProtocolError as error:
            self.send(protocol.encode_text(error.frame()))
            return
        try:
            if isinstance(frame, protocol.Join):
                await self.join(frame)
            elif isinstance(frame, protocol.Send):
                await self.send_message(frame)
            elif isinstance(frame, protocol.Leave):
                await self.leave(frame.room)
            elif isinstance(frame, protocol.Typing):
                await self.typing(frame)
            elif isinstance(frame, protocol.Read):
                await self.read(frame)
            elif isinstance(frame, live_messages.ChangeFrame):
                await live_messages.handle(self, frame)
            elif isinstance(frame, protocol.Ping):
                self.send(protocol.encode_text(protocol.Pong()))
            elif isinstance(frame, protocol.Watch):
                await self.watch(frame.topic)
            elif isinstance(frame, protocol.Unwatch):
                await self.unwatch(frame.topic)
        except AppError as error:
            code = (
                error.code
                if error.code in protocol.ERROR_CODES
                else ("forbidden" if isinstance(error, Refused) else "bad_request")
            )
            self.send(_error(cast(protocol.ErrorCode, code), error.message, frame))
        except Exception as error:
            # The database is down, or something unexpected broke while handling this one frame:
            # the member is told plainly (nothing was stored) and the connection stays usable.
            if health.database_down(error):
                log.warning("database unavailable while handling a %s frame", type(frame).__name__, exc_info=True)
            else:
                log.exception("unexpected error while handling a %s frame", type(frame).__name__)
            self.send(
                _error(
                    "unavailable",
                    _("Kindred cannot save messages right now. Nothing was lost; please try again in a moment."),
                    frame,
                )
            )

    async def join(self, frame: protocol.Join) -> None:
        # A join answers with history: a read like a page, counted against the same allowance.
        address = self.websocket.client
        await ratelimit.check_read(
            self.limiter,
            self.app.state.read_limits,
            session_hash=self.client.session_hash,
            ip=address.host if address else None,
        )
        if (conversation := conversations.id_of(frame.room)) is not None:
            await live_conversations.join(self, frame, conversation)
            return
        community_slug, _sep, room_slug = frame.room.partition("/")
        topic = frame.room
        if frame.room in self.client.rooms:
            await self.leave(frame.room)
        # Live frames are held from before the head is read, so none can slip between history and live.
        self.connection.hold(topic)
        await self.live.hub.join(topic, self.connection)
        try:
            head = await self._replay(frame, community_slug, room_slug)
        except BaseException:
            self.connection.release(topic, keep=lambda _frame: False)
            await self.live.hub.leave(topic, self.connection)
            raise
        if head is None:
            self.connection.release(topic, keep=lambda _frame: False)
            await self.live.hub.leave(topic, self.connection)
            return
        community_id, head_seq, is_leader, hidden, pseudonym, alias = head
        # From here on the connection skips new messages up to head_seq: the history had them.
        # Changes to earlier seqs (a removal, an approval) still come, after the history.
        self.connection.release(topic, floor=head_seq)
        self.client.rooms[topic] = community_id
        user = self.client.user
        if user is not None:
            self.client.presence_ids[topic] = shown_id(user.id, alias)
        snapshot = (
            await self.live.presence.join(
                topic, wire_user(user, is_leader=is_leader, pseudonym=pseudonym, alias=alias), hidden=hidden
            )
            if user is not None
            else await self.live.presence.snapshot(topic)
        )
        if snapshot is not None:
            self.send(protocol.encode_text(snapshot))

    async def _replay(
        self, frame: protocol.Join, community_slug: str, room_slug: str
    ) -> tuple[int, int, bool, bool, str | None, int | None] | None:
        """Send joined + history (or resync; errors raise); returns (community id, head seq, leader?, hidden?, pseudonym, alias)."""
        user = self.client.user

        async def work(connection: DbConnection) -> chat.Replay:
            return await chat.replay(connection, user, community_slug, room_slug, since=frame.since, epoch=frame.epoch)

        found: chat.Replay = await self._db(work)
        if found.resync is not None:
            self.send(protocol.encode_text(protocol.Resync(room=frame.room, reason=found.resync)))
            return None
        self.send(
            protocol.encode_text(
                protocol.Joined(
                    room=frame.room,
                    epoch=found.epoch,
                    head_seq=found.head_seq,
                    # The id this room's frames know the member by (minus the alias under a pseudonym).
                    user_id=shown_id(user.id, found.actor.standing.alias) if user is not None else None,
                    muted=joined_mute(found.actor, frame.room),
                )
            )
        )
        for seq, message in found.history:
            if message is not None:
                self.send(protocol.encode_text(message_frame(frame.room, found.epoch, message)))
            else:
                self.send(protocol.encode_text(protocol.Removed(room=frame.room, seq=seq)))
        # Earlier messages changed since the client's place: their state now (docs/protocol.md, Resuming).
        for message, visible in found.changes:
            if visible:
                self.send(protocol.encode_text(message_frame(frame.room, found.epoch, message)))
            if not visible or message.state == "hidden":
                gone = protocol.Removed(room=frame.room, seq=message.seq, deleted=message.state == "deleted")
                self.send(protocol.encode_text(gone))
        standing = found.actor.standing
        return (
            found.found.room.community_id,
            found.head_seq,
            found.actor.is_leader,
            found.presence_hidden,
            standing.pseudonym,
            standing.alias,
        )

    async def watch(self, name: str) -> None:
        """Follow a forum thread, a community's room list or one's own notifications (never a room: rooms use join)."""
        for topic in await self._watch_topics(name):
            await self.live.hub.join(topic, self.connection)
            self.client.watching.add(topic)
        self.send(protocol.encode_text(protocol.Watching(topic=name)))

    async def unwatch(self, name: str) -> None:
        for topic in await self._watch_topics(name, check=False):
            if topic in self.client.watching:
                self.client.watching.discard(topic)
                self.client.room_lists.pop(topic, None)
                await self.live.hub.leave(topic, self.connection)

    async def _watch_topics(self, name: str, *, check: bool = True) -> list[str]:
        kind, _sep, value = name.partition(":")
        user = self.client.user
        if kind == "member" and value == "me":
            if user is None:
                raise Refused(_("Log in to get your notifications."))
            return [member_topic(user.id)]
        if kind == "rooms" and value:
            topic = room_list_topic(value)
            if check:
                # The room page's rule: a community whose rooms this reader may not read has none to list.
                found = await self._db(lambda connection: room_actions.room_list(connection, user, value))
                self.client.room_lists[topic] = found.community.id
            return [topic]
        # ASCII digits only: str.isdigit() is also true of "²", which int() refuses.
        if kind == "thread" and value.isascii() and value.isdigit() and len(value) < 19:
            thread_id = int(value)
            if not check:
                return [thread_topic(thread_id), thread_topic(thread_id, "members")]
            # The same rule as the thread page: a thread this reader may not see does not exist.
            place, thread = await self._db(lambda connection: threads.open_thread(connection, user, thread_id))
            topics = [thread_topic(thread_id)]
            if place.can_read_kind(thread.kind, "members"):
                topics.append(thread_topic(thread_id, "members"))
            return topics
        raise NotFound(_("There is nothing to follow by that name."))

    async def leave(self, topic: str) -> None:
        if self.client.rooms.pop(topic, None) is None:
            return
        await self.live.hub.leave(topic, self.connection)
        presence_id = self.client.presence_ids.pop(topic, None)
        if self.client.user is not None:
            await self.live.presence.leave(topic, presence_id if presence_id is not None else self.client.user.id)

    def _joined(self, topic: str) -> int:
        community_id = self.client.rooms.get(topic)
        if community_id is None:
            raise NotFound(_("Join the room first."))
        return community_id

    async def send_message(self, frame: protocol.Send) -> None:
        if (conversation := conversations.id_of(frame.room)) is not None:
            await live_conversations.send(self, frame, conversation)
            return
        self._joined(frame.room)
        community_slug, _sep, room_slug = frame.room.partition("/")
        limiter = self.limiter

        async def work(connection: DbConnection) -> None:
            found, actor = await chat.room_for(connection, self.client.user, community_slug, room_slug)
            sent = await chat.do_send_message(
                connection,
                limiter,
                actor,
                found.room,
                community_slug=found.community_slug,
                community=chat.community_of(found),
                client_msg_id=frame.client_id,
                body=frame.body,
                reply_to=frame.reply_to,
            )
            # The ack goes out now, the message committed, before anything is awaited again: its
            # publication (started at the commit, chat.do_send_message) and this process's fan-out
            # of it run at the next await (the connection's release), after the ack.
            self.send(
                protocol.encode_text(
                    protocol.Ack(
                        client_id=frame.client_id,
                        room=frame.room,
                        seq=sent.message.seq,
                        created_at=sent.message.created_at,
                    )
                )
            )
            if sent.duplicate:
                return
            self.live.metrics.messages_sent.inc()
            if sent.message.state == "held":
                # Only the author sees a held message (marked "waiting for review"); the room was told
                # its seq is accounted for (chat.do_send_message).
                self.send(protocol.encode_text(message_frame(frame.room, sent.epoch, sent.message)))
            await chat.do_notify_mentions(connection, found.room, found.community_slug, sent)

        await self._db(work)

    async def typing(self, frame: protocol.Typing) -> None:
        if (conversation := conversations.id_of(frame.room)) is not None:
            await live_conversations.typing(self, frame, conversation)
            return
        self._joined(frame.room)
        user = self.client.user
        if user is None:
            raise Refused(_("Log in to take part."))
        community_slug, _sep, room_slug = frame.room.partition("/")

        async def work(connection: DbConnection) -> Actor:
            # The room's standing: a mute scoped to this room stops typing here too.
            _found, actor = await chat.room_for(connection, user, community_slug, room_slug)
            return actor

        actor: Actor = await self._db(work)
        # Typing is writing: only those who may send are shown typing (no error: it is a hint).
        if access.in_good_standing(actor):
            standing = actor.standing
            await self.live.presence.typing(
                frame.room,
                wire_user(user, is_leader=actor.is_leader, pseudonym=standing.pseudonym, alias=standing.alias),
            )

    async def read(self, frame: protocol.Read) -> None:
        self._joined(frame.room)
        user = self.client.user
        if user is None:
            return
        if (conversation := conversations.id_of(frame.room)) is not None:
            await self._db(lambda c: conversations.do_mark_read(c, user, conversation, frame.seq))
            return
        community_slug, _sep, room_slug = frame.room.partition("/")
        await self._db(lambda connection: chat.do_mark_read(connection, user, community_slug, room_slug, frame.seq))


def origin_allowed(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    return origin is not None and origin.rstrip("/") == websocket.app.state.settings.site_origin


async def websocket_endpoint(websocket: WebSocket) -> None:
    if not origin_allowed(websocket):
        # Closing before accept answers the upgrade with HTTP 403: another site's page cannot ride a member's cookie.
        await websocket.close(code=protocol.CloseCode.POLICY)
        return
    live: LiveService = websocket.app.state.live
    await websocket.accept()
    connection = Connection(
        websocket,
        max_queue=websocket.app.state.settings.ws_max_queue,
        # Optional: under another ASGI server every frame takes the ordinary send path.
        write_nowait=(websocket.scope.get("extensions") or {}).get(WRITE_NOWAIT),
    )
    client = Client(connection, websocket.state.user, websocket.state.session_hash)
    await live.add(client)
    session = LiveSession(websocket, live, client)
    try:
        # No task races receive against the connection closing: when the server closes the socket
        # (a ban, a logout, a slow client), the websocket protocol answers this receive with a
        # disconnect at once (channels.websocket_protocol), so one idle socket holds no extra task.
        while not connection.closed:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            raw = message.get("text") if message.get("text") is not None else message.get("bytes")
            if raw is not None:
                await session.handle(raw)
    except WebSocketDisconnect:
        pass
    except Exception:
        log.exception("live session failed")
        connection.abort(protocol.CloseCode.INTERNAL, "internal error")
    finally:
        await live.remove(client)
        if not connection.closed:
            await connection.close(protocol.CloseCode.NORMAL)


async def websocket_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Every websocket upgrade, served without the HTTP middleware and router.

    Kindred has one websocket endpoint, and a socket keeps every coroutine that leads to it
    suspended for as long as it is open: going straight here holds a few frames per idle
    socket instead of a dozen (docs/benchmarks.md, memory per idle socket).
    """
    if scope["path"].removeprefix(scope.get("root_path", "")) != WEBSOCKET_PATH:
        await send({"type": "websocket.close", "code": 1000})
        return
    await websocket_endpoint(WebSocket(scope, receive, send))

"""The /ws endpoint: checks the upgrade, then turns client frames into chat actions and live frames."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

import asyncpg
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from channels import protocol
from channels.connection import Connection
from channels.websocket_protocol import WRITE_NOWAIT
from server.actions import access, chat, threads
from server.actions.access import Actor, actor_for
from server.db.queries import messages, rooms
from server.errors import AppError, NotFound, Refused
from server.i18n import _
from server.live import Client, LiveService, member_topic, message_frame, thread_topic, wire_user

log = logging.getLogger(__name__)

# A fresh join without `since` gets this many recent messages; a resume replays at most REPLAY_LIMIT.
RECENT_ON_JOIN = 50
REPLAY_LIMIT = 1000
ACQUIRE_TIMEOUT = 5.0
WEBSOCKET_PATH = "/ws"

# The database is unreachable or refusing: nothing was stored, and the client may retry.
DATABASE_DOWN = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


def _error(code: protocol.ErrorCode, message: str, ref: str | None = None) -> str:
    return protocol.encode_text(protocol.Error(code=code, message=message, ref=ref))


class LiveSession:
    """One socket's conversation with the server, after the upgrade was accepted."""

    __slots__ = ("app", "client", "connection", "live", "websocket")

    def __init__(self, websocket: WebSocket, live: LiveService, client: Client) -> None:
        self.websocket = websocket
        self.app = websocket.app
        self.live = live
        self.client = client
        self.connection = client.connection

    def send(self, text: str) -> None:
        self.connection.send(text)

    async def _db(self, work: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
        async with self.app.state.db.acquire(timeout=ACQUIRE_TIMEOUT) as connection:
            return await work(cast(asyncpg.Connection, connection))

    async def _actor(self, connection: asyncpg.Connection, community_id: int) -> Actor:
        return await actor_for(connection, self.client.user, community_id)

    async def _room(
        self, connection: asyncpg.Connection, community_slug: str, room_slug: str
    ) -> tuple[rooms.RoomInCommunity, Actor] | None:
        """The room and who this member is there, in one round trip; None if there is no such room."""
        user = self.client.user
        found = await rooms.by_names_with_standing(connection, community_slug, room_slug, user.id if user else None)
        if found is None:
            return None
        room, standing = found
        return room, Actor(user, room.room.community_id, standing)

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
            elif isinstance(frame, protocol.Remove):
                await self.remove(frame)
            elif isinstance(frame, protocol.Ping):
                self.send(protocol.encode_text(protocol.Pong()))
            elif isinstance(frame, protocol.Watch):
                await self.watch(frame.topic)
            elif isinstance(frame, protocol.Unwatch):
                await self.unwatch(frame.topic)
        except AppError as error:
            ref = (
                frame.client_id
                if isinstance(frame, protocol.Send)
                else getattr(frame, "room", getattr(frame, "topic", None))
            )
            code = (
                error.code
                if error.code in protocol.ERROR_CODES
                else ("forbidden" if isinstance(error, Refused) else "bad_request")
            )
            self.send(_error(cast(protocol.ErrorCode, code), error.message, ref))
        except Exception as error:
            # The database is down, or something unexpected broke while handling this one frame:
            # the member is told plainly (nothing was stored) and the connection stays usable.
            if isinstance(error, DATABASE_DOWN):
                log.warning("database unavailable while handling a %s frame", type(frame).__name__, exc_info=True)
            else:
                log.exception("unexpected error while handling a %s frame", type(frame).__name__)
            ref = frame.client_id if isinstance(frame, protocol.Send) else getattr(frame, "room", None)
            self.send(
                _error(
                    "unavailable",
                    _("Kindred cannot save messages right now. Nothing was lost; please try again in a moment."),
                    ref,
                )
            )

    async def join(self, frame: protocol.Join) -> None:
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
        community_id, head_seq, is_leader, hidden = head
        # From here on the connection skips new messages up to head_seq: the history had them.
        # Changes to earlier seqs (a removal, an approval) still come, after the history.
        self.connection.release(topic, floor=head_seq)
        self.client.rooms[topic] = community_id
        user = self.client.user
        snapshot = (
            await self.live.presence.join(topic, wire_user(user, is_leader=is_leader), hidden=hidden)
            if user is not None
            else await self.live.presence.snapshot(topic)
        )
        if snapshot is not None:
            self.send(protocol.encode_text(snapshot))

    async def _replay(
        self, frame: protocol.Join, community_slug: str, room_slug: str
    ) -> tuple[int, int, bool, bool] | None:
        """Send joined + history (or resync / error); returns (community id, head seq, leader?, hidden?)."""

        async def work(connection: asyncpg.Connection) -> tuple[int, int, bool, bool] | None:
            in_room = await self._room(connection, community_slug, room_slug)
            found, actor = in_room if in_room is not None else (None, None)
            if found is None or actor is None:
                self.send(_error("not_found", _("There is no such room."), frame.room))
                return None
            access.require_can_read_room(
                actor, access.CommunityState(found.community_status, found.community_visibility)
            )
            room = found.room
            epoch, head_seq = await rooms.head(connection, room.id) or (room.epoch, room.last_seq)
            if frame.since is not None and (frame.epoch is not None and frame.epoch != epoch):
                self.send(protocol.encode_text(protocol.Resync(room=frame.room, reason="epoch_changed")))
                return None
            if frame.since is not None and frame.since > head_seq:
                self.send(protocol.encode_text(protocol.Resync(room=frame.room, reason="ahead_of_head")))
                return None
            if frame.since is not None and head_seq - frame.since > REPLAY_LIMIT:
                self.send(protocol.encode_text(protocol.Resync(room=frame.room, reason="too_far_behind")))
                return None
            self.send(protocol.encode_text(protocol.Joined(room=frame.room, epoch=epoch, head_seq=head_seq)))
            viewer = actor.user.id if actor.user else None
            if frame.since is None:
                history = await messages.recent(
                    connection, room.id, viewer_id=viewer, include_removed=actor.can_moderate, limit=RECENT_ON_JOIN
                )
                for message in history:
                    if message.seq <= head_seq:
                        self.send(protocol.encode_text(message_frame(frame.room, epoch, message)))
            else:
                # Every seq in (since, head] once: a message if this viewer may see it, else a remove.
                for message in await messages.in_range(connection, room.id, frame.since, head_seq):
                    if messages.visible_to(message, viewer, moderator=actor.can_moderate):
                        self.send(protocol.encode_text(message_frame(frame.room, epoch, message)))
                    else:
                        self.send(protocol.encode_text(protocol.Removed(room=frame.room, seq=message.seq)))
            hidden = await rooms.hides_presence(connection, room.id, viewer) if viewer is not None else False
            return room.community_id, head_seq, actor.is_leader, hidden

        result: tuple[int, int, bool, bool] | None = await self._db(work)
        return result

    async def watch(self, name: str) -> None:
        """Follow a forum thread or one's own notifications (never a room: rooms use join)."""
        topic = await self._watch_topic(name)
        await self.live.hub.join(topic, self.connection)
        self.client.watching.add(topic)
        self.send(protocol.encode_text(protocol.Watching(topic=name)))

    async def unwatch(self, name: str) -> None:
        topic = await self._watch_topic(name, check=False)
        if topic in self.client.watching:
            self.client.watching.discard(topic)
            await self.live.hub.leave(topic, self.connection)

    async def _watch_topic(self, name: str, *, check: bool = True) -> str:
        kind, _sep, value = name.partition(":")
        user = self.client.user
        if kind == "member" and value == "me":
            if user is None:
                raise Refused(_("Log in to get your notifications."))
            return member_topic(user.id)
        if kind == "thread" and value.isdigit() and len(value) < 19:
            if check:
                # The same rule as the thread page: a thread this reader may not see does not exist.
                await self._db(lambda connection: threads.open_thread(connection, user, int(value)))
            return thread_topic(int(value))
        raise NotFound(_("There is nothing to follow by that name."))

    async def leave(self, topic: str) -> None:
        if self.client.rooms.pop(topic, None) is None:
            return
        await self.live.hub.leave(topic, self.connection)
        if self.client.user is not None:
            await self.live.presence.leave(topic, self.client.user.id)

    def _joined(self, topic: str) -> int:
        community_id = self.client.rooms.get(topic)
        if community_id is None:
            raise NotFound(_("Join the room first."))
        return community_id

    async def send_message(self, frame: protocol.Send) -> None:
        self._joined(frame.room)
        community_slug, _sep, room_slug = frame.room.partition("/")
        limiter = self.app.state.limiter

        async def work(connection: asyncpg.Connection) -> chat.Sent:
            in_room = await self._room(connection, community_slug, room_slug)
            if in_room is None:
                raise NotFound(_("There is no such room."))
            found, actor = in_room
            return await chat.do_send_message(
                connection,
                limiter,
                actor,
                found.room,
                community_slug=found.community_slug,
                client_msg_id=frame.client_id,
                body=frame.body,
            )

        sent: chat.Sent = await self._db(work)
        # The ack goes out only now: the message is committed.
        self.send(
            protocol.encode_text(
                protocol.Ack(
                    client_id=frame.client_id, room=frame.room, seq=sent.message.seq, created_at=sent.message.created_at
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

    async def typing(self, frame: protocol.Typing) -> None:
        community_id = self._joined(frame.room)
        user = self.client.user
        if user is None:
            raise Refused(_("Log in to take part."))
        actor: Actor = await self._db(lambda connection: self._actor(connection, community_id))
        # Typing is writing: only those who may send are shown typing (no error: it is a hint).
        if access.in_good_standing(actor):
            await self.live.presence.typing(frame.room, wire_user(user, is_leader=actor.is_leader))

    async def read(self, frame: protocol.Read) -> None:
        self._joined(frame.room)
        user = self.client.user
        if user is None:
            return
        community_slug, _sep, room_slug = frame.room.partition("/")

        async def work(connection: asyncpg.Connection) -> None:
            found = await rooms.by_names(connection, community_slug, room_slug)
            if found is not None:
                await rooms.mark_read(connection, found.room.id, user.id, min(frame.seq, found.room.last_seq))

        await self._db(work)

    async def remove(self, frame: protocol.Remove) -> None:
        self._joined(frame.room)
        community_slug, _sep, room_slug = frame.room.partition("/")

        async def work(connection: asyncpg.Connection) -> None:
            in_room = await self._room(connection, community_slug, room_slug)
            if in_room is None:
                raise NotFound(_("There is no such room."))
            found, actor = in_room
            await chat.do_remove_message(
                connection, actor, found.room, community_slug=found.community_slug, seq=frame.seq, reason=frame.reason
            )

        await self._db(work)


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

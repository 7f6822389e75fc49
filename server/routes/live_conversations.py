"""The /ws frames about a private conversation (room "dm:<id>"): join, send and typing, as for a room of two.

server/routes/live.py hands these frames here; the answers are the room frames (joined, message, ack,
resync, presence, typing, error), so a conversation keeps every guarantee of a room: history before live
with nothing between them, an ack only after commit, resume after `since`, one message per client id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from channels import protocol
from server.actions import DbConnection, access, conversations
from server.errors import Refused
from server.i18n import _
from server.live import joined_mute, message_frame, wire_user

if TYPE_CHECKING:
    from server.routes.live import LiveSession


async def join(session: LiveSession, frame: protocol.Join, conversation_id: int) -> None:
    topic = frame.room
    user = session.client.user
    if topic in session.client.rooms:
        await session.leave(topic)
    # As for a room: live frames are held from before the head is read, so none slips between history and live.
    session.connection.hold(topic)
    await session.live.hub.join(topic, session.connection)

    async def work(connection: DbConnection) -> conversations.Replay:
        return await conversations.replay(connection, user, conversation_id, since=frame.since, epoch=frame.epoch)

    try:
        found: conversations.Replay = await session._db(work)
    except BaseException:
        session.connection.release(topic, keep=lambda _frame: False)
        await session.live.hub.leave(topic, session.connection)
        raise
    if found.resync is not None:
        session.connection.release(topic, keep=lambda _frame: False)
        await session.live.hub.leave(topic, session.connection)
        session.send(protocol.encode_text(protocol.Resync(room=topic, reason=found.resync)))
        return
    opened = found.opened
    session.send(
        protocol.encode_text(
            protocol.Joined(
                room=topic,
                epoch=found.epoch,
                head_seq=found.head_seq,
                user_id=opened.my_id,
                muted=joined_mute(opened.actor, topic),  # the community's: a room's mute does not hold here
            )
        )
    )
    for message in found.history:
        session.send(protocol.encode_text(message_frame(topic, found.epoch, message)))
    session.connection.release(topic, floor=found.head_seq)
    # Registered like a room of its community: a ban there closes the socket, as for its rooms.
    session.client.rooms[topic] = opened.conversation.community_id
    assert user is not None
    session.client.presence_ids[topic] = opened.my_id
    standing = opened.actor.standing
    snapshot = await session.live.presence.join(
        topic, wire_user(user, is_leader=False, pseudonym=standing.pseudonym, alias=standing.alias)
    )
    if snapshot is not None:
        session.send(protocol.encode_text(snapshot))


async def send(session: LiveSession, frame: protocol.Send, conversation_id: int) -> None:
    session._joined(frame.room)
    limiter = session.app.state.limiter
    snapshot = await session.live.presence.snapshot(frame.room)
    present = {member.id for member in snapshot.members} if snapshot is not None else set()

    async def work(connection: DbConnection) -> None:
        sent = await conversations.do_send(
            connection,
            limiter,
            session.client.user,
            conversation_id,
            client_msg_id=frame.client_id,
            body=frame.body,
            present=present,
        )
        # The ack goes out as soon as the message is committed, before its fan-out (as chat does).
        session.send(
            protocol.encode_text(
                protocol.Ack(
                    client_id=frame.client_id, room=frame.room, seq=sent.message.seq, created_at=sent.message.created_at
                )
            )
        )
        if not sent.duplicate:
            session.live.metrics.messages_sent.inc()

    await session._db(work)


async def typing(session: LiveSession, frame: protocol.Typing, conversation_id: int) -> None:
    session._joined(frame.room)
    user = session.client.user
    if user is None:
        raise Refused(_("Log in to take part."))

    async def work(connection: DbConnection) -> conversations.Opened:
        return await conversations.open_conversation(connection, user, conversation_id)

    opened: conversations.Opened = await session._db(work)
    if access.can_send_in_conversation(
        opened.actor, opened.community, participant=True, status=opened.conversation.status
    ):
        standing = opened.actor.standing
        await session.live.presence.typing(
            frame.room, wire_user(user, is_leader=False, pseudonym=standing.pseudonym, alias=standing.alias)
        )

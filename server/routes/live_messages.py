"""The /ws frames about messages beyond sending them: the author's edit and delete, reactions, leaders'
removal and edit history, and the names a writer may @mention."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from channels import protocol
from server.actions import DbConnection, chat
from server.actions.access import User
from server.live import shown_id
from server.ratelimit import RateLimiter

ChangeFrame = (
    protocol.EditMessage
    | protocol.DeleteMessage
    | protocol.Remove
    | protocol.React
    | protocol.AskEdits
    | protocol.FindMembers
)


class Session(Protocol):
    """What these handlers need of the socket's LiveSession (server/routes/live.py)."""

    @property
    def user(self) -> User | None: ...

    limiter: RateLimiter

    def send(self, text: str) -> None: ...

    def _joined(self, topic: str) -> int: ...

    async def _db(self, work: Callable[[DbConnection], Awaitable[Any]]) -> Any: ...


async def handle(session: Session, frame: ChangeFrame) -> None:
    """Each is answered by the room's frame (`edit`, `remove`, `reactions`) or, for `edits` and `members`,
    to the sender only."""
    session._joined(frame.room)
    community_slug, _sep, room_slug = frame.room.partition("/")

    async def work(connection: DbConnection) -> None:
        found, actor = await chat.room_for(connection, session.user, community_slug, room_slug)
        room, community = found.room, chat.community_of(found)
        if isinstance(frame, protocol.EditMessage):
            await chat.do_edit_message(
                connection,
                actor,
                room,
                community_slug=found.community_slug,
                community=community,
                seq=frame.seq,
                body=frame.body,
            )
        elif isinstance(frame, protocol.DeleteMessage):
            await chat.do_delete_message(
                connection, actor, room, community_slug=found.community_slug, community=community, seq=frame.seq
            )
        elif isinstance(frame, protocol.Remove):
            await chat.do_remove_message(
                connection, actor, room, community_slug=found.community_slug, seq=frame.seq, reason=frame.reason
            )
        elif isinstance(frame, protocol.React):
            await chat.do_react(
                connection,
                session.limiter,
                actor,
                room,
                community_slug=found.community_slug,
                community=community,
                seq=frame.seq,
                kind=frame.kind,
                on=frame.on,
            )
        elif isinstance(frame, protocol.FindMembers):
            found_members = await chat.mention_candidates(connection, actor, room, community, frame.prefix)
            members = [
                protocol.User(
                    id=shown_id(m.user_id, m.alias),
                    username=m.username,
                    display_name=m.display_name,
                    badge="leader" if m.is_leader else None,
                )
                for m in found_members
            ]
            session.send(protocol.encode_text(protocol.Members(room=frame.room, prefix=frame.prefix, members=members)))
        else:
            versions = await chat.edits_of(connection, actor, room, frame.seq)
            answer = protocol.Edits(
                room=frame.room,
                seq=frame.seq,
                versions=[protocol.Version(body=v.body, written_at=v.written_at) for v in versions],
            )
            session.send(protocol.encode_text(answer))

    await session._db(work)

"""Live rooms of a community: who may see them, their list with unread counts, leaders adding rooms, a member hiding their presence."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from server.actions import access, events, waiting
from server.actions.access import Actor, actor_for, require_member, require_moderator
from server.db.queries import audit, communities, messages, review, rooms
from server.db.queries.communities import Community
from server.db.queries.messages import Message
from server.db.queries.names import shown_id
from server.db.queries.rooms import Listed, Room
from server.db.queries.users import User
from server.errors import bad_request, conflict, not_found
from server.i18n import _, format_duration


def slug_for(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-")


async def do_add_room(connection: asyncpg.Connection, actor: Actor, community: Community, name: str) -> Room:
    """A leader adds a room (e.g. "Parents", "Adults living with CMS")."""
    user = require_moderator(actor)
    clean = " ".join(name.split())
    if not 1 <= len(clean) <= 80:
        raise bad_request(_("A room name has 1 to 80 characters."), "name")
    slug = slug_for(clean)
    if not slug:
        raise bad_request(_("Please use some letters or digits in the room name."), "name")
    async with events.unit_of_work(connection):
        room = await rooms.create(connection, community.id, slug, clean)
        if room is None:
            raise conflict(_("This community already has a room with that name."))
        await audit.record(
            connection,
            community_id=community.id,
            actor_id=user.id,
            action="add_room",
            target_kind="room",
            target_id=room.id,
            details={"name": clean},
        )
    return room


async def do_set_presence_hidden(connection: asyncpg.Connection, actor: Actor, room: Room, hidden: bool) -> None:
    user = require_member(actor)
    if room.community_id != actor.community_id:
        raise not_found()
    await rooms.set_hide_presence(connection, room.id, user.id, hidden)


HISTORY_ON_PAGE = 50


@dataclass(frozen=True)
class RoomPage:
    """A live room's page: the room, its community's rooms, recent history, and what the reader may do."""

    community: Community
    room: Room
    rooms: list[Listed]  # the community's rooms with the reader's unread counts
    history: list[Message]
    actor: Actor
    can_send: bool
    presence_hidden: bool
    last_read_seq: int | None  # where the "new messages" line goes; None for visitors
    muted_notice: str | None  # shown above the disabled composer of a muted member: until when, and why
    review_note: str  # how long leaders usually take, for a member whose messages wait for review ("" otherwise)
    review_waiting: int = 0  # for leaders: unread notices about items waiting in the review queue
    # The composer is on the page (disabled while muted_notice says why): the page enables it when the mute ends.
    composer: bool = False

    @property
    def muted_until(self) -> str:
        """When the mute in force ends, for the page's timer: "" for none, or for one a leader must lift."""
        until = access.mute_ends_at(self.actor)
        return until.isoformat() if until is not None else ""

    @property
    def muted_scope(self) -> str:
        """Where the mute in force holds: "room", "community", or "" for none."""
        if not self.muted_notice:
            return ""
        return "room" if self.actor.standing.mute_room_id is not None else "community"

    @property
    def removable_badges(self) -> list[str]:
        """The author badges whose messages this reader may remove (none for members): access.outranked_badges."""
        return access.outranked_badges(self.actor)

    @property
    def me(self) -> int | None:
        """The reader's id as this room's frames show it (minus their alias under a pseudonym)."""
        if self.actor.user is None:
            return None
        return shown_id(self.actor.user.id, self.actor.standing.alias)


async def room_in(
    connection: asyncpg.Connection, user: User | None, slug: str, room_slug: str | None
) -> tuple[Community, Room, Actor]:
    """A community's room (its main room for None) and who the user is there, or 404."""
    community = await communities.by_slug(connection, slug)
    room = await rooms.in_community(connection, community.id, room_slug) if community is not None else None
    if community is None or room is None:
        raise not_found()
    return community, room, await actor_for(connection, user, community.id, room_id=room.id)


async def open_room_page(
    connection: asyncpg.Connection, user: User | None, slug: str, room_slug: str | None
) -> RoomPage:
    """What the room page shows, for a reader who may read the room (404, or the ban's reason, otherwise)."""
    community, room, actor = await room_in(connection, user, slug, room_slug)
    access.require_can_read_room(actor, community)
    history = await messages.recent(
        connection,
        room.id,
        viewer_id=user.id if user else None,
        include_removed=actor.can_moderate,
        limit=HISTORY_ON_PAGE,
    )
    return RoomPage(
        community=community,
        room=room,
        rooms=await rooms.listed(connection, community.id, _member_id(actor)),
        history=history,
        actor=actor,
        can_send=access.can_write(actor, community),
        presence_hidden=await rooms.hides_presence(connection, room.id, user.id) if user else False,
        last_read_seq=await rooms.last_read(connection, room.id, user.id) if user else None,
        muted_notice=access.muted_notice(actor),
        review_note=await review_note(connection, actor) if actor.standing.needs_review else "",
        review_waiting=await waiting.review_badge(connection, actor),
        composer=access.can_write_but_for_a_mute(actor, community),
    )


async def review_note(connection: asyncpg.Connection, actor: Actor) -> str:
    """Roughly how long a new member's first message waits: the median of the leaders' recent decisions."""
    wait = await review.typical_wait(connection, actor.community_id)
    if wait is None:
        return _("Leaders review first messages by hand; it can take a few hours.")
    # "About 0 seconds" would be a promise: a minute is the least anyone waits for a person.
    return _("Leaders usually review first messages within about %(time)s.") % {
        "time": format_duration(max(wait, timedelta(minutes=1)))
    }


async def unread_counts(connection: asyncpg.Connection, user: User | None, community_ids: list[int]) -> dict[int, int]:
    """Unread live messages per community for a signed-in member (none for anonymous readers)."""
    if user is None or not community_ids:
        return {}
    return await rooms.unread_counts(connection, user.id, community_ids)


@dataclass(frozen=True)
class RoomList:
    """A community's rooms as one reader may see them, each with that reader's unread count."""

    community: Community
    actor: Actor
    rooms: list[Listed]

    @property
    def me(self) -> int | None:
        """The reader's id as the rooms' frames show it (to leave their own messages out of the counts)."""
        if self.actor.user is None:
            return None
        return shown_id(self.actor.user.id, self.actor.standing.alias)


async def listed_for(connection: asyncpg.Connection, actor: Actor, community: Community) -> list[Listed]:
    """The rooms with unread counts (members only count), or none for a reader who may not read them."""
    if not access.can_read_room(actor, community):
        return []
    return await rooms.listed(connection, community.id, _member_id(actor))


async def room_list(connection: asyncpg.Connection, user: User | None, slug: str) -> RoomList:
    """A community's room list (its own page, and what a live `watch` of it checks), or 404."""
    community = await communities.by_slug(connection, slug)
    if community is None:
        raise not_found()
    actor = await actor_for(connection, user, community.id)
    access.require_can_read_room(actor, community)
    return RoomList(community, actor, await rooms.listed(connection, community.id, _member_id(actor)))


def _member_id(actor: Actor) -> int | None:
    return actor.user.id if actor.user is not None and actor.is_member else None

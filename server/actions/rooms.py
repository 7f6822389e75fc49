"""Live rooms of a community: who may see them, leaders adding rooms, a member hiding their presence."""

from __future__ import annotations

import re
import unicodedata

import asyncpg

from server.actions import events
from server.actions.access import Actor, require_member, require_moderator
from server.db.queries import audit, rooms
from server.db.queries.communities import Community
from server.db.queries.rooms import Room
from server.errors import bad_request, conflict, not_found
from server.i18n import _


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

"""Tips: members in good standing share short practical advice; leaders hide (and unhide) tips."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from server.actions import access, events
from server.actions.access import Actor, actor_for, require_moderator
from server.db.queries import audit, tips
from server.db.queries.communities import Community
from server.db.queries.tips import Tip as Tip
from server.db.queries.users import User
from server.errors import AppError, bad_request, not_found
from server.i18n import _

MAX_NAME = 120
MAX_DESCRIPTION = 2000


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise bad_request(_("Please give your tip a short name."), "name")
    if len(name) > MAX_NAME:
        raise bad_request(_("A tip's name can have at most %(max)d characters.") % {"max": MAX_NAME}, "name")
    return name


def check_description(description: str) -> str:
    description = description.replace("\r\n", "\n").strip()
    if not description:
        raise bad_request(_("Please describe your tip."), "description")
    if len(description) > MAX_DESCRIPTION:
        raise bad_request(_("A tip can have at most %(max)d characters.") % {"max": MAX_DESCRIPTION}, "description")
    return description


async def check_can_add(connection: asyncpg.Connection, user: User | None, community: Community) -> User:
    """Members who are neither banned nor muted (site admins too)."""
    return access.require_can_write_in(await actor_for(connection, user, community.id), community)


async def do_add(
    connection: asyncpg.Connection, user: User | None, community: Community, name: str, description: str
) -> Tip:
    author = await check_can_add(connection, user, community)
    return await tips.create(connection, community.id, author.id, check_name(name), check_description(description))


async def check_can_moderate(connection: asyncpg.Connection, user: User | None, community: Community) -> User:
    return require_moderator(await actor_for(connection, user, community.id))


async def do_set_hidden(
    connection: asyncpg.Connection, user: User | None, community: Community, tip_id: int, *, hidden: bool
) -> Tip:
    leader = await check_can_moderate(connection, user, community)
    async with events.unit_of_work(connection):
        tip = await tips.set_hidden(connection, community.id, tip_id, hidden=hidden, by=leader.id)
        if tip is None:
            raise not_found(_("We could not find that tip."))
        await audit.record(
            connection,
            community_id=community.id,
            actor_id=leader.id,
            action="tip_hidden" if hidden else "tip_shown",
            target_kind="tip",
            target_id=tip.id,
            details={"name": tip.name},
        )
    return tip


@dataclass(frozen=True)
class TipsPage:
    """The tips page for one reader: the tips they may see, why they may not add one (None: they may)."""

    tips: list[Tip]
    refusal: str | None
    can_moderate: bool
    # False in a members-only community for outsiders: tips are members' words (and name them).
    readable: bool = True


async def page(connection: asyncpg.Connection, user: User | None, community: Community) -> TipsPage:
    actor = await actor_for(connection, user, community.id)
    refusal: str | None = None
    try:
        access.require_can_write_in(actor, community)
    except AppError as error:
        refusal = error.message
    listed = await _visible(connection, actor, community)
    return TipsPage(listed, refusal, actor.can_moderate, access.can_read_forum(actor, community))


async def list_for(connection: asyncpg.Connection, user: User | None, community: Community) -> list[Tip]:
    return await _visible(connection, await actor_for(connection, user, community.id), community)


async def _visible(connection: asyncpg.Connection, actor: Actor, community: Community) -> list[Tip]:
    """Hidden tips are shown only to the community's leaders and site admins (so they can unhide them);
    a members-only community's tips only to those who may read its forum."""
    if not access.can_read_forum(actor, community):
        return []
    return await tips.list_for(connection, community.id, include_hidden=actor.can_moderate)

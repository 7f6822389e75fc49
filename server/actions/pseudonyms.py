"""Per-community pseudonyms: a member chooses the name others see in one community, and leaders or
site admins may reveal the account behind it for moderation, each reveal on the audit log."""

from __future__ import annotations

import re
import secrets

import asyncpg

from server.actions import access, events
from server.actions.access import actor_for
from server.db.queries import audit, memberships, users
from server.db.queries.communities import Community
from server.db.queries.users import User
from server.errors import Conflict, bad_request, not_found
from server.i18n import _

MIN_LENGTH, MAX_LENGTH = 2, 40
# Letters and digits of any script, spaces and a few marks: a name, not markup or a URL.
_ALLOWED = re.compile(r"^[\w][\w .'\-]*$")
# Aliases stand for a pseudonymous member in live frames (as minus the alias); below 2^53 they stay
# exact in JavaScript numbers.
ALIAS_LIMIT = 2**53


def check_pseudonym(name: str) -> str | None:
    """The cleaned pseudonym; None (an empty name) means "use my display name here"."""
    name = " ".join(name.split())
    if not name:
        return None
    if not MIN_LENGTH <= len(name) <= MAX_LENGTH or not _ALLOWED.match(name) or name[0] == "_":
        raise bad_request(
            _("A name here has %(min)d to %(max)d letters, digits, spaces, dots, dashes or apostrophes.")
            % {"min": MIN_LENGTH, "max": MAX_LENGTH},
            "pseudonym",
        )
    return name


async def set_pseudonym(
    connection: asyncpg.Connection, user: User | None, community: Community, name: str
) -> str | None:
    """Post and chat in this community under `name` (empty: under the display name again). Refused
    when it is someone's username (it would pass for their account) or another member's pseudonym here."""
    actor = await actor_for(connection, user, community.id)
    member = access.require_member(actor)
    chosen = check_pseudonym(name)
    if chosen is not None:
        taken = await users.by_username(connection, chosen)
        if taken is not None and taken.id != member.id:
            raise Conflict(_("That name is someone's username here: please choose another."), field="pseudonym")
        if taken is not None:
            raise bad_request(_("That is your username: it would show who you are. Choose another name."), "pseudonym")
    async with events.unit_of_work(connection):
        alias = actor.standing.alias or 1 + secrets.randbelow(ALIAS_LIMIT - 1)
        if not await memberships.set_pseudonym(connection, community.id, member.id, chosen, alias):
            raise Conflict(_("Another member already uses that name here: please choose another."), field="pseudonym")
        if chosen != actor.standing.pseudonym:
            events.emit(events.MemberRenamed(member.id, community.id))
    return chosen


async def reveal(connection: asyncpg.Connection, user: User | None, community: Community, handle: str) -> User:
    """The account behind a pseudonym, for this community's leaders and site admins; audited."""
    leader = access.require_moderator(await actor_for(connection, user, community.id))
    if not handle.startswith("~"):
        raise not_found(_("There is no member with that name."))
    target = await memberships.user_by_handle(connection, community.id, handle)
    if target is None:
        raise not_found(_("There is no member with that name."))
    async with events.unit_of_work(connection):
        await audit.record(
            connection,
            community_id=community.id,
            actor_id=leader.id,
            action="pseudonym_revealed",
            target_user_id=target.id,
            target_kind="member",
        )
    return target

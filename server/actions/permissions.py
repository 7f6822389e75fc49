"""Who may do what in a community: every write and every moderator action is checked here, on the server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from server.db.queries import memberships
from server.db.queries.memberships import Standing
from server.db.queries.users import User
from server.errors import AppError, forbidden
from server.i18n import _, format_time

RANK = {None: 0, "member": 1, "leader": 2}
ADMIN_RANK = 3


@dataclass(frozen=True)
class Actor:
    """A user (or an anonymous visitor) as seen by one community."""

    user: User | None
    community_id: int
    standing: Standing

    @property
    def user_id(self) -> int:
        if self.user is None:
            raise AppError("unauthorized", 401, _("Please log in first."))
        return self.user.id

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.is_admin

    @property
    def is_member(self) -> bool:
        return self.standing.role is not None

    @property
    def is_leader(self) -> bool:
        return self.standing.role == "leader"

    @property
    def can_moderate(self) -> bool:
        """Leaders of this community and site admins."""
        return self.is_leader or self.is_admin

    @property
    def rank(self) -> int:
        return ADMIN_RANK if self.is_admin else RANK[self.standing.role]


ANONYMOUS = memberships.NO_STANDING


async def actor_for(connection: asyncpg.Connection, user: User | None, community_id: int) -> Actor:
    if user is None:
        return Actor(None, community_id, ANONYMOUS)
    return Actor(user, community_id, await memberships.standing(connection, community_id, user.id))


def require_signed_in(actor: Actor) -> User:
    if actor.user is None:
        raise AppError("unauthorized", 401, _("Please log in first."))
    return actor.user


def require_not_banned(actor: Actor) -> None:
    if actor.standing.banned:
        reason = actor.standing.ban_reason
        message = _("You have been removed from this community.")
        if reason:
            message += " " + _("Reason: %(reason)s") % {"reason": reason}
        raise AppError("banned", 403, message)


def require_not_muted(actor: Actor) -> None:
    until = actor.standing.muted_until
    if until is not None and until > datetime.now(UTC):
        if until.year >= 9999:
            message = _("You are muted in this community until a leader lifts it.")
        else:
            message = _("You are muted in this community until %(time)s.") % {"time": format_time(until)}
        if actor.standing.mute_reason:
            message += " " + _("Reason: %(reason)s") % {"reason": actor.standing.mute_reason}
        raise AppError("muted", 403, message)


def require_member(actor: Actor) -> User:
    user = require_signed_in(actor)
    require_not_banned(actor)
    if not actor.is_member and not actor.is_admin:
        raise forbidden(_("Join this community first."))
    return user


def require_can_write(actor: Actor) -> User:
    """Posting, chatting, reacting, flagging, tips, edits: members in good standing only."""
    user = require_member(actor)
    require_not_muted(actor)
    return user


def require_moderator(actor: Actor) -> User:
    """Leaders of this community and site admins; everyone else gets 403."""
    user = require_signed_in(actor)
    if not actor.can_moderate:
        raise forbidden(_("Only this community's leaders can do that."))
    return user


def require_admin(user: User | None) -> User:
    if user is None:
        raise AppError("unauthorized", 401, _("Please log in first."))
    if not user.is_admin:
        raise forbidden(_("Only site admins can do that."))
    return user


def require_outranks(actor: Actor, target: Actor) -> None:
    """No one moderates someone of equal or higher role (a leader cannot mute a leader or an admin)."""
    if actor.rank <= target.rank:
        raise forbidden(_("You cannot moderate someone with the same or a higher role."))

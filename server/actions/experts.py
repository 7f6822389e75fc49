"""The expert badge: site admins list experts with their credential, grant and revoke it, each audited."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from server.actions import events
from server.actions.access import require_admin
from server.db.queries import audit, experts
from server.db.queries.experts import BadgeChange, Expert
from server.db.queries.users import User
from server.errors import bad_request
from server.i18n import _

CREDENTIAL_MAX = 200
REASON_MAX = 500


@dataclass(frozen=True)
class ExpertsPage:
    experts: list[Expert]
    history: list[BadgeChange]


async def experts_page(connection: asyncpg.Connection, admin: User | None) -> ExpertsPage:
    """The admins' page: who holds the badge, with what credential, and the latest changes."""
    require_admin(admin)
    return ExpertsPage(await experts.listed(connection), await experts.history(connection))


async def do_grant(connection: asyncpg.Connection, admin: User | None, username: str, credential: str) -> int:
    """Give the badge with the credential the admin checked (given again: the credential is updated)."""
    acting = require_admin(admin)
    clean = " ".join(credential.split())
    if not clean:
        raise bad_request(_("Say what you checked: a profession, a qualification, an institution."), "credential")
    if len(clean) > CREDENTIAL_MAX:
        raise bad_request(_("A credential has at most 200 characters."), "credential")
    return await _set(connection, acting, username, True, credential=clean)


async def do_revoke(connection: asyncpg.Connection, admin: User | None, username: str, reason: str = "") -> int:
    """Take the badge back (its credential is cleared); the reason goes to the audit log."""
    acting = require_admin(admin)
    clean = reason.strip()
    if len(clean) > REASON_MAX:
        raise bad_request(_("A reason has at most 500 characters."), "reason")
    return await _set(connection, acting, username, False, reason=clean)


async def _set(
    connection: asyncpg.Connection, admin: User, username: str, value: bool, *, credential: str = "", reason: str = ""
) -> int:
    async with events.unit_of_work(connection):
        user_id = await experts.set_expert(connection, username.strip().removeprefix("@"), value, credential)
        if user_id is None:
            # A form's field, not a missing page: the admin's words come back with the message.
            raise bad_request(_("There is no member with that username."), "username")
        await audit.record(
            connection,
            community_id=None,
            actor_id=admin.id,
            action="expert_marked" if value else "expert_unmarked",
            target_user_id=user_id,
            target_kind="user",
            target_id=user_id,
            reason=reason,
            details={"credential": credential} if value else {},
        )
    return user_id

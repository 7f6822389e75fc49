"""Invite links: how people join a hidden community (at once, or after a leader approves their request)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from server.actions import access, events
from server.actions import notifications as notify
from server.actions.access import Actor, actor_for
from server.db.queries import audit, communities, invites, memberships
from server.db.queries.communities import Community
from server.db.queries.invites import Invite as Invite
from server.db.queries.invites import JoinRequest as JoinRequest
from server.db.queries.users import User
from server.errors import bad_request, conflict, not_found
from server.i18n import _
from server.tokens import hash_token, new_token

MESSAGE_LIMIT = 1000
MAX_DAYS = 365
# The token of an invite link: URL-safe base64 of 256 random bits (tokens.new_token).
TOKEN_LENGTH = 43


@dataclass(frozen=True)
class NewInvite:
    """A link just made: its token is shown this once (only its hash is stored)."""

    invite: Invite
    token: str


@dataclass(frozen=True)
class Invitation:
    """What an invite link shows the person who follows it."""

    community: Community
    invite: Invite
    # The follower, as the community sees them, and whether a request of theirs waits for a leader.
    actor: Actor
    pending: bool

    @property
    def already_member(self) -> bool:
        return self.actor.is_member

    @property
    def banned(self) -> bool:
        return self.actor.standing.banned


@dataclass(frozen=True)
class Followed:
    """What following a link did: "joined" (a member now) or "asked" (a leader will answer)."""

    outcome: str
    community: Community


@dataclass(frozen=True)
class LeadersView:
    """The leaders' side of joining: the links in force and the requests waiting."""

    invites: list[Invite]
    requests: list[JoinRequest]


def check_days(value: str | int | None) -> int | None:
    """Days until the link expires; empty means never."""
    if value is None or value == "":
        return None
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = -1
    if not 1 <= days <= MAX_DAYS:
        raise bad_request(_("Choose between 1 and %(max)d days, or leave it empty.") % {"max": MAX_DAYS}, "days")
    return days


def check_message(message: str) -> str:
    message = message.strip()
    if len(message) > MESSAGE_LIMIT:
        raise bad_request(_("A message can have at most %(limit)d characters.") % {"limit": MESSAGE_LIMIT}, "message")
    return message


def _link_not_found() -> Exception:
    # The same answer for a wrong, revoked or expired link: a hidden community is not confirmed.
    return not_found(_("This invite link is not valid any more. Ask the person who sent it for a new one."))


async def create(
    connection: asyncpg.Connection, user: User | None, community: Community, *, needs_approval: bool, days: int | None
) -> NewInvite:
    """Leaders and site admins make a link; audited."""
    leader = access.require_moderator(await actor_for(connection, user, community.id))
    access.require_active(community)
    token = new_token()
    expires_at = datetime.now(UTC) + timedelta(days=days) if days is not None else None
    async with events.unit_of_work(connection):
        invite = await invites.create(
            connection,
            community.id,
            token_hash=hash_token(token),
            created_by=leader.id,
            needs_approval=needs_approval,
            expires_at=expires_at,
        )
        await audit.record(
            connection,
            community_id=community.id,
            actor_id=leader.id,
            action="invite_created",
            target_kind="invite",
            target_id=invite.id,
            details={"needs_approval": needs_approval, "days": days},
        )
    return NewInvite(invite, token)


async def in_force(connection: asyncpg.Connection, user: User | None, community: Community) -> list[Invite]:
    access.require_moderator(await actor_for(connection, user, community.id))
    return await invites.in_force(connection, community.id)


async def revoke(connection: asyncpg.Connection, user: User | None, community: Community, invite_id: int) -> None:
    """The link stops working at once; audited. Revoking twice is harmless (404 the second time)."""
    leader = access.require_moderator(await actor_for(connection, user, community.id))
    async with events.unit_of_work(connection):
        if not await invites.revoke(connection, community.id, invite_id):
            raise not_found(_("There is no such invite link."))
        await audit.record(
            connection,
            community_id=community.id,
            actor_id=leader.id,
            action="invite_revoked",
            target_kind="invite",
            target_id=invite_id,
        )


async def open_link(connection: asyncpg.Connection, user: User | None, token: str) -> Invitation:
    """What a link leads to, for anyone holding it (signed in or not); 404 for a link not in force."""
    if len(token) != TOKEN_LENGTH:
        raise _link_not_found()
    invite = await invites.by_token(connection, hash_token(token))
    if invite is None or not invite.usable:
        raise _link_not_found()
    community = await communities.by_id(connection, invite.community_id)
    if community is None or community.status != "active":
        raise _link_not_found()
    actor = await actor_for(connection, user, community.id)
    pending = user is not None and await invites.pending_request_of(connection, community.id, user.id) is not None
    return Invitation(community, invite, actor, pending)


async def follow(connection: asyncpg.Connection, user: User | None, token: str, *, message: str = "") -> Followed:
    """Join through a link: at once, or by asking when the link needs a leader's approval (the
    community's leaders are told). Banned members cannot come back through a link."""
    invitation = await open_link(connection, user, token)
    community = invitation.community
    actor = invitation.actor
    member = access.require_signed_in(actor)
    access.require_not_banned(actor)
    if actor.is_member:
        return Followed("joined", community)
    if invitation.invite.needs_approval:
        text = check_message(message)
        async with events.unit_of_work(connection):
            request_id = await invites.ask(
                connection, community.id, member.id, invite_id=invitation.invite.id, message=text
            )
            if not invitation.pending:
                leaders = [leader.user_id for leader in await memberships.leaders(connection, community.id)]
                await notify.create(
                    connection,
                    [(leader_id, "moderation") for leader_id in leaders],
                    community_id=community.id,
                    thread_id=None,
                    post_id=None,
                    actor_id=member.id,
                    data={
                        "event": "join_requested",
                        "what": "community",
                        "community": community.name,
                        "url": f"/c/{community.slug}/reading#requests",
                        "request": request_id,
                    },
                )
        return Followed("asked", community)
    async with events.unit_of_work(connection):
        if await memberships.join(connection, community.id, member.id):
            await invites.count_use(connection, invitation.invite.id)
    return Followed("joined", community)


async def for_leaders(connection: asyncpg.Connection, user: User | None, community: Community) -> LeadersView:
    """The leaders' page: links in force and requests waiting (leaders and site admins)."""
    access.require_moderator(await actor_for(connection, user, community.id))
    return LeadersView(
        await invites.in_force(connection, community.id), await invites.pending_requests(connection, community.id)
    )


async def pending_requests(
    connection: asyncpg.Connection, user: User | None, community: Community
) -> list[JoinRequest]:
    access.require_moderator(await actor_for(connection, user, community.id))
    return await invites.pending_requests(connection, community.id)


async def decide(
    connection: asyncpg.Connection, user: User | None, community: Community, request_id: int, *, approve: bool
) -> JoinRequest:
    """A leader approves (the person becomes a member) or declines a request; audited, and the person is told."""
    leader = access.require_moderator(await actor_for(connection, user, community.id))
    if approve:
        access.require_active(community)
    async with events.unit_of_work(connection):
        decided = await invites.decide(connection, community.id, request_id, approved=approve, decided_by=leader.id)
        if decided is None:
            raise conflict(_("This request was already answered."))
        if approve and await memberships.join(connection, community.id, decided.user_id) and decided.invite_id:
            await invites.count_use(connection, decided.invite_id)
        await audit.record(
            connection,
            community_id=community.id,
            actor_id=leader.id,
            action="join_approved" if approve else "join_declined",
            target_user_id=decided.user_id,
            target_kind="user",
            target_id=decided.user_id,
        )
        await notify.create(
            connection,
            [(decided.user_id, "moderation")],
            # A declined person is not a member: the notification names the community but does not belong to it
            # (notifications of a community reach only those who may see it).
            community_id=community.id if approve else None,
            thread_id=None,
            post_id=None,
            actor_id=leader.id,
            data={
                "event": "join_approved" if approve else "join_declined",
                "what": "community",
                "community": community.name,
                "url": f"/c/{community.slug}" if approve else "/notifications",
            },
        )
    return decided

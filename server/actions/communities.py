"""Communities: the searchable directory, who may see a community, joining and leaving, appointing leaders."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from server.actions import access, events, waiting
from server.actions import catalogue as catalogue_actions
from server.actions import proposals as proposal_actions
from server.actions import rooms as room_actions
from server.actions.access import (
    Actor,
    actor_for,
    require_admin,
    require_not_banned,
    require_signed_in,
)
from server.db.queries import audit, communities, memberships, proposals, resources, sections, tips, users
from server.db.queries.communities import Community as Community
from server.db.queries.memberships import Leader as Leader
from server.db.queries.names import shown_id
from server.db.queries.resources import Resource
from server.db.queries.rooms import Listed
from server.db.queries.sections import Section
from server.db.queries.tips import Tip
from server.db.queries.users import User
from server.errors import Conflict, NotFound, bad_request, conflict, not_found
from server.i18n import _

PAGE_SIZE = 20
MAX_PAGE = 10_000
NEWEST_RESOURCES = 3
NEWEST_TIPS = 5


@dataclass(frozen=True)
class Directory:
    communities: list[Community]
    total: int
    page: int
    pages: int
    query: str
    # Typos the search corrected ('myastenic' → 'myasthenic'), to say so.
    corrections: dict[str, str] = field(default_factory=dict)
    # Catalogue conditions matching the search that no community covers yet (first page only).
    uncovered: list[catalogue_actions.Condition] = field(default_factory=list)


@dataclass(frozen=True)
class Overview:
    """Everything the community page shows, already filtered for the reader."""

    community: Community
    actor: Actor
    sections: dict[str, Section]
    leaders: list[Leader]
    resources: list[Resource]
    tips: list[Tip]
    # True when the reader proposed this community and may still take up the offer to lead it.
    leadership_offer: bool
    # The live rooms the reader may read, with a member's unread messages in each.
    rooms: list[Listed] = field(default_factory=list)
    # False in a members-only community for outsiders: tips are members' words (and name them).
    tips_readable: bool = True
    # What the rare-disease catalogue says about the conditions it covers (shown as catalogue data).
    catalogue: catalogue_actions.Facts | None = None
    # For leaders: their unread notices about items waiting in the review queue (its badge).
    review_waiting: int = 0

    @property
    def room_unread(self) -> int:
        """Unread live-room messages in all the community's rooms."""
        return sum(listed.unread for listed in self.rooms)

    @property
    def me(self) -> int | None:
        """The reader's id as the community's live frames show it (minus their alias under a pseudonym)."""
        return shown_id(self.actor.user.id, self.actor.standing.alias) if self.actor.user is not None else None


def check_page(value: str | int | None) -> int:
    """A page number from a query string: anything odd means the first page, never an error."""
    try:
        page = int(value) if value is not None else 1
    except ValueError:
        return 1
    return min(max(page, 1), MAX_PAGE)


UNCOVERED_SHOWN = 5


async def directory(connection: asyncpg.Connection, query: str, page: int) -> Directory:
    """Active communities by name, other name, gene, ORPHA/OMIM code or symptom of the conditions they cover;
    accents and case aside, small typos forgiven (server.actions.catalogue.search_query)."""
    query = " ".join(query.split())[:200]
    parsed = await catalogue_actions.search_query(connection, query) if query else catalogue_actions.SearchQuery(None)
    tsquery = parsed.tsquery
    if query and tsquery is None:
        # Only punctuation: nothing can match, and listing everything would pretend it did.
        return Directory([], 0, 1, 1, query)
    rows, total = await communities.search_active(connection, tsquery, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    if page > pages:
        # A page past the end (an old link, a hand-typed number) shows the last page instead of nothing.
        page = pages
        rows, total = await communities.search_active(
            connection, tsquery, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
    uncovered = (
        await catalogue_actions.uncovered(connection, tsquery, limit=UNCOVERED_SHOWN) if tsquery and page == 1 else []
    )
    return Directory(rows, total, page, pages, query, parsed.corrections, uncovered)


async def can_see(connection: asyncpg.Connection, user: User | None, community: Community) -> bool:
    """Active and archived communities are public, hidden ones only to their members; proposed or
    declined ones only to admins and the proposer."""
    if community.visibility == "hidden" and user is not None:
        # Only a hidden community needs the reader's standing to be seen at all.
        return access.can_see_community(await actor_for(connection, user, community.id), community)
    actor = access.Actor(user, community.id, access.ANONYMOUS)
    if access.can_see_community(actor, community):
        return True
    proposal = await proposals.for_community(connection, community.id) if user is not None else None
    return access.can_see_community(
        actor, community, proposed_by_them=proposal is not None and user is not None and proposal.proposer_id == user.id
    )


async def load(connection: asyncpg.Connection, slug: str, user: User | None) -> Community:
    """The community the reader may see, or 404 (the same answer whether it does not exist or is hidden)."""
    community = await communities.by_slug(connection, slug)
    if community is None or not await can_see(connection, user, community):
        raise not_found(_("We could not find that community."))
    return community


async def with_actor(connection: asyncpg.Connection, user: User | None, slug: str) -> tuple[Community, Actor]:
    """The community of a leader's page or form, and who the user is there (404 for no such community,
    and for a hidden one the user is not a member of)."""
    community = await communities.by_slug(connection, slug)
    if community is None:
        raise not_found(_("We could not find that community."))
    actor = await actor_for(connection, user, community.id)
    if community.visibility == "hidden" and not access.can_see_community(actor, community):
        raise not_found(_("We could not find that community."))
    return community, actor


async def membership(connection: asyncpg.Connection, user: User | None, slug: str) -> tuple[Community, Actor]:
    """The community as the reader may see it now (member count included) and who they are in it."""
    community = await load(connection, slug, user)
    return community, await actor_for(connection, user, community.id)


async def overview(connection: asyncpg.Connection, community: Community, user: User | None) -> Overview:
    actor = await actor_for(connection, user, community.id)
    tips_readable = access.can_read_forum(actor, community)
    offer = False
    if user is not None:
        proposal = await proposals.for_community(connection, community.id)
        offer = proposal is not None and await proposal_actions.leadership_offer_open(connection, user, proposal)
    return Overview(
        community=community,
        actor=actor,
        sections=await sections.for_community(connection, community.id),
        leaders=await memberships.leaders(connection, community.id),
        resources=await resources.list_for(connection, community.id, limit=NEWEST_RESOURCES),
        tips=await tips.list_for(connection, community.id, include_hidden=actor.can_moderate, limit=NEWEST_TIPS)
        if tips_readable
        else [],
        tips_readable=tips_readable,
        leadership_offer=offer,
        rooms=await room_actions.listed_for(connection, actor, community),
        catalogue=await catalogue_actions.facts_for(connection, community.id),
        review_waiting=await waiting.review_badge(connection, actor),
    )


def require_active(community: Community) -> None:
    if community.status != "active":
        raise conflict(_("This community is not open yet."))


async def do_join(connection: asyncpg.Connection, user: User | None, community: Community) -> bool:
    """Become a member; True when newly joined (joining twice is harmless). Banned members cannot rejoin."""
    actor = await actor_for(connection, user, community.id)
    member = require_signed_in(actor)
    require_not_banned(actor)
    require_active(community)
    return await memberships.join(connection, community.id, member.id)


async def do_leave(connection: asyncpg.Connection, user: User | None, community: Community) -> bool:
    """Stop being a member (a leader who leaves stops being a leader); True when there was a membership."""
    actor = await actor_for(connection, user, community.id)
    member = require_signed_in(actor)
    return await memberships.leave(connection, community.id, member.id)


async def _target(connection: asyncpg.Connection, username: str) -> User:
    target = await users.by_username(connection, username.strip())
    if target is None or target.deleted_at is not None:
        raise NotFound(_("There is no member called %(name)s.") % {"name": username}, field="username")
    return target


async def do_appoint_leader(
    connection: asyncpg.Connection, user: User | None, community: Community, username: str
) -> User:
    """Site admins make a member (or any signed-up person, who joins at once) a leader of this community."""
    admin = require_admin(user)
    require_active(community)
    target = await _target(connection, username)
    target_actor = await actor_for(connection, target, community.id)
    if target_actor.standing.banned:
        raise Conflict(_("%(name)s is banned from this community.") % {"name": target.username}, field="username")
    async with events.unit_of_work(connection):
        await memberships.join(connection, community.id, target.id)
        await memberships.set_role(connection, community.id, target.id, "leader")
        await audit.record(
            connection,
            community_id=community.id,
            actor_id=admin.id,
            action="leader_appointed",
            target_user_id=target.id,
            target_kind="user",
            target_id=target.id,
        )
    return target


async def do_remove_leader(
    connection: asyncpg.Connection, user: User | None, community: Community, username: str
) -> User:
    """Site admins turn a leader back into a plain member (who stays a member)."""
    admin = require_admin(user)
    # By username, or by the handle the community page gives a leader who uses a pseudonym here.
    target = await memberships.user_by_handle(connection, community.id, username.strip())
    if target is None:
        raise NotFound(_("There is no member called %(name)s.") % {"name": username}, field="username")
    target_actor = await actor_for(connection, target, community.id)
    if not target_actor.is_leader:
        raise conflict(_("%(name)s is not a leader of this community.") % {"name": target.username})
    async with events.unit_of_work(connection):
        await memberships.set_role(connection, community.id, target.id, "member")
        await audit.record(
            connection,
            community_id=community.id,
            actor_id=admin.id,
            action="leader_removed",
            target_user_id=target.id,
            target_kind="user",
            target_id=target.id,
        )
    return target


VISIBILITIES = ("public", "members", "hidden")


@dataclass(frozen=True)
class ReadingRules:
    """Who may read a community: threads open to everyone ("public") with introductions and live rooms
    opened apart; everything but the condition page, resources and tips for members only ("members");
    or everything for members only, unlisted, joined through invite links ("hidden")."""

    visibility: str
    introductions_open: bool
    rooms_open: bool


def check_reading_rules(visibility: str, *, introductions_open: bool, rooms_open: bool) -> ReadingRules:
    if visibility not in VISIBILITIES:
        raise bad_request(_("Choose who can read: everyone, members only, or members only and unlisted."), "visibility")
    # Introductions and rooms can only be open where the forum is: a members-only community keeps them closed.
    public = visibility == "public"
    return ReadingRules(visibility, introductions_open and public, rooms_open and public)


def reading_rules_of(actor: Actor, community: Community) -> ReadingRules:
    """The reading rules, for the leaders' page (leaders and site admins only)."""
    access.require_moderator(actor)
    return ReadingRules(community.visibility, community.introductions_open, community.rooms_open)


async def do_set_reading_rules(
    connection: asyncpg.Connection, user: User | None, community: Community, rules: ReadingRules
) -> Community:
    """Leaders and site admins decide who may read; audited, and in force on every process at once:
    open sockets in the community's rooms are closed to resume, so each reader joins again under the new rules."""
    leader = access.require_moderator(await actor_for(connection, user, community.id))
    before = ReadingRules(community.visibility, community.introductions_open, community.rooms_open)
    if rules == before:
        return community
    async with events.unit_of_work(connection):
        updated = await communities.set_reading_rules(
            connection,
            community.id,
            visibility=rules.visibility,
            introductions_open=rules.introductions_open,
            rooms_open=rules.rooms_open,
        )
        await audit.record(
            connection,
            community_id=community.id,
            actor_id=leader.id,
            action="reading_rules",
            target_kind="community",
            target_id=community.id,
            details={
                "visibility": rules.visibility,
                "introductions_open": rules.introductions_open,
                "rooms_open": rules.rooms_open,
                "before": {
                    "visibility": before.visibility,
                    "introductions_open": before.introductions_open,
                    "rooms_open": before.rooms_open,
                },
            },
        )
        events.emit(events.ReadingRulesChanged(community.id))
    return updated

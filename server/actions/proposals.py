"""Proposals: a member asks for a new condition community; a site admin approves or declines it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import asyncpg

from server.actions import catalogue, events, waiting
from server.actions import notifications as notify
from server.actions.access import actor_for, require_admin
from server.db.queries import catalogue as catalogue_queries
from server.db.queries import communities, memberships, proposals, rooms
from server.db.queries.communities import Community
from server.db.queries.proposals import Proposal as Proposal
from server.db.queries.users import User
from server.errors import Conflict, RateLimited, SignInRequired, bad_request, conflict, forbidden, not_found
from server.i18n import _

MAX_NAME = 120
MAX_SYNONYMS = 20
MAX_SYNONYM = 120
MAX_DESCRIPTION = 2000
MAX_REASON = 4000
MAX_DECISION_REASON = 1000
MAX_SLUG = 70  # leaves room for a numeric suffix under the 80-character limit
MAX_PENDING_PER_MEMBER = 5
_NON_SLUG = re.compile(r"[^a-z0-9]+")


MAX_CODES = 20


@dataclass(frozen=True)
class ProposalInput:
    name: str
    synonyms: list[str]
    description: str
    reason: str
    # Catalogue conditions (ORPHA:… / OMIM:…) the community would cover; empty for one not in the catalogue.
    codes: list[str] = field(default_factory=list)


def slugify(name: str) -> str:
    """'Syndrome de Sjögren' → 'syndrome-de-sjogren'; names with no Latin letters fall back to 'community'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = _NON_SLUG.sub("-", ascii_name).strip("-")[:MAX_SLUG].strip("-")
    return slug or "community"


def next_free_slug(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if len(name) < 2:
        raise bad_request(_("Please give the name of the condition."), "name")
    if len(name) > MAX_NAME:
        raise bad_request(_("A name can have at most %(max)d characters.") % {"max": MAX_NAME}, "name")
    return name


def check_synonyms(value: str | list[str]) -> list[str]:
    """Other names, comma-separated (from a form) or a list (from the API); blanks and repeats are dropped."""
    result: list[str] = []
    seen: set[str] = set()
    for part in value.split(",") if isinstance(value, str) else value:
        synonym = " ".join(part.split())
        if not synonym or synonym.lower() in seen:
            continue
        if len(synonym) > MAX_SYNONYM:
            raise bad_request(
                _("Each other name can have at most %(max)d characters.") % {"max": MAX_SYNONYM}, "synonyms"
            )
        seen.add(synonym.lower())
        result.append(synonym)
    if len(result) > MAX_SYNONYMS:
        raise bad_request(_("Please give at most %(max)d other names.") % {"max": MAX_SYNONYMS}, "synonyms")
    return result


def check_description(description: str) -> str:
    description = description.replace("\r\n", "\n").strip()
    if not description:
        raise bad_request(_("Please describe the condition in a sentence or two."), "description")
    if len(description) > MAX_DESCRIPTION:
        raise bad_request(
            _("A description can have at most %(max)d characters.") % {"max": MAX_DESCRIPTION}, "description"
        )
    return description


def check_reason(reason: str) -> str:
    reason = reason.replace("\r\n", "\n").strip()
    if not reason:
        raise bad_request(_("Please tell us why this community is needed."), "reason")
    if len(reason) > MAX_REASON:
        raise bad_request(_("This can have at most %(max)d characters.") % {"max": MAX_REASON}, "reason")
    return reason


def check_codes(value: str | list[str]) -> list[str]:
    """Catalogue codes, comma- or space-separated (from a form) or a list (from the API); repeats dropped."""
    parts = value.replace(",", " ").split() if isinstance(value, str) else value
    codes: list[str] = []
    for part in parts:
        code = catalogue.check_code(part)
        if code not in codes:
            codes.append(code)
    if len(codes) > MAX_CODES:
        raise bad_request(_("Please choose at most %(max)d catalogue conditions.") % {"max": MAX_CODES}, "code")
    return codes


def check_proposal(
    *, name: str, synonyms: str | list[str], description: str, reason: str, codes: str | list[str] = ""
) -> ProposalInput:
    return ProposalInput(
        check_name(name),
        check_synonyms(synonyms),
        check_description(description),
        check_reason(reason),
        check_codes(codes),
    )


async def _catalogue_conditions(connection: asyncpg.Connection, codes: list[str]) -> list[catalogue.Condition]:
    """The chosen catalogue conditions; a condition an open community covers already is refused, naming it."""
    found = [await catalogue.condition(connection, code) for code in codes]
    for condition in found:
        if condition.community_slug is not None:
            if condition.community_status == "active":
                message = _("%(condition)s already has a community: %(community)s.")
            else:
                message = _("A community covering %(condition)s has already been proposed: %(community)s.")
            raise Conflict(message % {"condition": condition.name, "community": condition.community_name}, field="code")
    return found


def require_proposer(user: User | None) -> User:
    if user is None:
        raise SignInRequired(_("Please log in first."))
    return user


async def do_propose(connection: asyncpg.Connection, user: User | None, data: ProposalInput) -> Proposal:
    """A 'proposed' community with a unique slug, plus its proposal, in one transaction."""
    proposer = require_proposer(user)
    async with events.unit_of_work(connection):
        chosen = await _catalogue_conditions(connection, data.codes)
        existing = await communities.open_by_name(connection, data.name)
        if existing is not None:
            if existing.status == "active":
                message = _("A community for %(name)s already exists.") % {"name": existing.name}
            else:
                message = _("A community for %(name)s has already been proposed.") % {"name": existing.name}
            raise Conflict(message, field="name")
        if await proposals.pending_count_for(connection, proposer.id) >= MAX_PENDING_PER_MEMBER:
            raise RateLimited(
                _("You already have %(count)d proposals waiting for a decision. Please wait for them first.")
                % {"count": MAX_PENDING_PER_MEMBER}
            )
        # The catalogue's names for the chosen conditions are other names of the community (as many as fit).
        synonyms = list(data.synonyms)
        for condition in chosen:
            known = {name.lower() for name in [data.name, *synonyms]}
            if (
                condition.name.lower() not in known
                and len(condition.name) <= MAX_SYNONYM
                and len(synonyms) < MAX_SYNONYMS
            ):
                synonyms.append(condition.name)
        base = slugify(data.name)
        community: Community | None = None
        # Two proposals with the same name at once: the loser of the race simply takes the next number.
        for _attempt in range(5):
            slug = next_free_slug(base, await communities.slugs_like(connection, base))
            community = await communities.create_proposed(
                connection, slug=slug, name=data.name, synonyms=synonyms, description=data.description
            )
            if community is not None:
                break
        if community is None:
            raise conflict(_("Please try again in a moment."))
        if data.codes:
            await catalogue_queries.link(connection, community.id, data.codes)
        proposal = await proposals.create(connection, community.id, proposer.id, data.reason)
        await waiting.tell_proposal(connection, proposal_id=proposal.id, name=community.name, proposer_id=proposer.id)
        return proposal


async def list_for_admin(connection: asyncpg.Connection, user: User | None) -> list[Proposal]:
    require_admin(user)
    return await proposals.list_all(connection)


def check_decision(decision: str, reason: str) -> tuple[str, str]:
    """'approve' or 'decline'; declining needs a reason the proposer will read."""
    if decision not in {"approve", "decline"}:
        raise bad_request(_("Please choose to approve or decline."), "decision")
    reason = reason.replace("\r\n", "\n").strip()
    if len(reason) > MAX_DECISION_REASON:
        raise bad_request(_("A reason can have at most %(max)d characters.") % {"max": MAX_DECISION_REASON}, "reason")
    if decision == "decline" and not reason:
        raise bad_request(_("Please give a reason for declining; the proposer will read it."), "reason")
    return decision, reason


def _notification_data(proposal: Proposal, status: str, reason: str) -> dict[str, str]:
    """What the proposer's notification says; 'message' and 'url' are what the notifications page shows."""
    if status == "approved":
        message = _("Your proposal for %(community)s was approved: the community is open.") % {
            "community": proposal.name
        }
    else:
        message = _("Your proposal for %(community)s was declined. Reason: %(reason)s") % {
            "community": proposal.name,
            "reason": reason,
        }
    return {
        "status": status,
        "reason": reason,
        "community": proposal.name,
        "slug": proposal.slug,
        "message": message,
        "url": "/communities/new#your-proposals",
    }


async def do_decide(
    connection: asyncpg.Connection, user: User | None, proposal_id: int, decision: str, reason: str
) -> Proposal:
    """Approve (the community opens with its main room) or decline; the proposer is notified either way."""
    admin = require_admin(user)
    decision, reason = check_decision(decision, reason)
    status = "approved" if decision == "approve" else "declined"
    async with events.unit_of_work(connection):
        proposal = await proposals.by_id(connection, proposal_id)
        if proposal is None:
            raise not_found(_("We could not find that proposal."))
        if not await proposals.decide(connection, proposal_id, status=status, decided_by=admin.id, reason=reason):
            raise conflict(_("This proposal has already been decided."))
        await waiting.settle(connection, None, f"proposal:{proposal_id}")
        if status == "approved":
            await communities.set_status(connection, proposal.community_id, "active")
            if await rooms.in_community(connection, proposal.community_id, None) is None:
                await rooms.create(connection, proposal.community_id, "main", "Main room", is_main=True)
        else:
            await communities.set_status(connection, proposal.community_id, "declined")
        if proposal.proposer_id is not None:
            await notify.create(
                connection,
                [(proposal.proposer_id, "proposal")],
                # A declined community is hidden, and notifications about hidden communities are not shown:
                # the decline is therefore not tied to the community row (its name travels in data).
                community_id=proposal.community_id if status == "approved" else None,
                thread_id=None,
                post_id=None,
                actor_id=admin.id,
                data=_notification_data(proposal, status, reason),
            )
        decided = await proposals.by_id(connection, proposal_id)
        assert decided is not None
        return decided


async def leadership_offer_open(connection: asyncpg.Connection, user: User | None, proposal: Proposal) -> bool:
    """The proposer of an approved proposal may become a leader once (not if banned, or removed as leader since)."""
    if (
        user is None
        or proposal.proposer_id != user.id
        or proposal.status != "approved"
        or proposal.community_status != "active"
    ):
        return False
    standing = (await actor_for(connection, user, proposal.community_id)).standing
    if standing.role == "leader" or standing.banned:
        return False
    return not await memberships.was_removed_as_leader(connection, proposal.community_id, user.id)


async def do_accept_leadership(connection: asyncpg.Connection, user: User | None, community: Community) -> None:
    """Only the proposer of an approved proposal may take this up: they become a member with role 'leader'."""
    proposer = require_proposer(user)
    proposal = await proposals.for_community(connection, community.id)
    if proposal is None or not await leadership_offer_open(connection, proposer, proposal):
        if (await actor_for(connection, proposer, community.id)).is_leader:
            return  # a second click on the button changes nothing
        raise forbidden(_("Only the member who proposed this community can take up this offer."))
    async with events.unit_of_work(connection):
        await memberships.join(connection, community.id, proposer.id)
        await memberships.set_role(connection, community.id, proposer.id, "leader")


async def list_own_with_offers(connection: asyncpg.Connection, user: User | None) -> list[tuple[Proposal, bool]]:
    """The member's own proposals, each with whether the leadership offer is open to them."""
    if user is None:
        return []
    return [
        (proposal, await leadership_offer_open(connection, user, proposal))
        for proposal in await proposals.for_proposer(connection, user.id)
    ]

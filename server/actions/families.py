"""Families like mine: a member opts in with a few facts, sees opted-in families with overlapping facts, and connects."""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncpg

from server.actions import access, events, notifications
from server.actions.access import actor_for
from server.db.queries import catalogue, families, memberships
from server.db.queries.communities import Community
from server.db.queries.families import Connection as Connection
from server.db.queries.families import Counts as Counts
from server.db.queries.families import Facts as Facts
from server.db.queries.families import Match as Match
from server.db.queries.users import User
from server.errors import Conflict, RateLimited, bad_request, forbidden, not_found
from server.i18n import _
from server.ratelimit import FAMILY_REQUESTS_PER_USER, RateLimiter

AGE_BANDS = ("0-1", "2-5", "6-11", "12-17", "18-39", "40+")
MATCH_LIMIT = 50
MAX_LIST_ITEMS = 10
MAX_ITEM_CHARS = 60
_GENE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,19}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def age_band_label(band: str) -> str:
    labels = {
        "0-1": _("under 2 years"),
        "2-5": _("2 to 5 years"),
        "6-11": _("6 to 11 years"),
        "12-17": _("12 to 17 years"),
        "18-39": _("18 to 39 years"),
        "40+": _("40 years or more"),
    }
    return labels.get(band, "")


def _items(value: str, field: str) -> list[str]:
    """A comma-separated list, lower-cased and without repeats (so "Salbutamol" meets "salbutamol")."""
    found: list[str] = []
    for part in value.split(","):
        item = " ".join(part.split()).casefold()
        if not item or item in found:
            continue
        if len(item) > MAX_ITEM_CHARS:
            raise bad_request(_("Each item has at most %(max)d characters.") % {"max": MAX_ITEM_CHARS}, field)
        found.append(item)
    if len(found) > MAX_LIST_ITEMS:
        raise bad_request(_("At most %(max)d items, separated by commas.") % {"max": MAX_LIST_ITEMS}, field)
    return found


def check_facts(
    *, gene: str, variant: str, subtype: str, treatments: str, age_band: str, country: str, languages: str
) -> Facts:
    """The facts as stored: gene symbols and country codes upper-cased, lists split on commas; at least one fact."""
    gene = gene.strip().upper()
    if gene and not _GENE.match(gene):
        raise bad_request(_("A gene symbol has letters and digits only, like DOK7."), "gene")
    variant, subtype = " ".join(variant.split()), " ".join(subtype.split())
    if len(variant) > 80:
        raise bad_request(_("At most %(max)d characters.") % {"max": 80}, "variant")
    if len(subtype) > 80:
        raise bad_request(_("At most %(max)d characters.") % {"max": 80}, "subtype")
    if age_band and age_band not in AGE_BANDS:
        raise bad_request(_("Choose an age band from the list."), "age_band")
    country = country.strip().upper()
    if country and not _COUNTRY.match(country):
        raise bad_request(_("A country is its two-letter code, like FR or GB."), "country")
    facts = Facts(
        gene=gene,
        variant=variant,
        subtype=subtype,
        treatments=_items(treatments, "treatments"),
        age_band=age_band,
        country=country,
        languages=_items(languages, "languages"),
    )
    if not any((facts.gene, facts.variant, facts.subtype, facts.treatments, facts.age_band, facts.country)) and not (
        facts.languages
    ):
        raise bad_request(_("Share at least one fact, or families like yours cannot find you."), "form")
    return facts


@dataclass(frozen=True)
class View:
    """The families page as one member sees it: their facts (None: not opted in) and, once opted in, the rest."""

    community: Community
    actor: access.Actor
    facts: Facts | None
    matches: list[Match]
    incoming: list[Connection]
    outgoing: list[Connection]
    connected: list[Connection]
    counts: Counts | None
    gene_suggestions: list[str]
    can_use: bool


async def view(connection: asyncpg.Connection, user: User | None, community: Community) -> View:
    """Members see their own facts (and the opt-in form); opted-in members see other families; leaders and
    site admins see counts only. Everyone else is refused."""
    actor = await actor_for(connection, user, community.id)
    counts = await families.counts(connection, community.id) if access.can_count_families(actor, community) else None
    if counts is None or access.can_use_families(actor, community):
        access.require_families(actor, community)
    facts = await families.facts_of(connection, community.id, actor.user_id) if actor.is_member else None
    matches: list[Match] = []
    incoming: list[Connection] = []
    outgoing: list[Connection] = []
    connected: list[Connection] = []
    if access.can_see_families(actor, community, opted_in=facts is not None):
        matches = await families.matches(connection, community.id, actor.user_id, limit=MATCH_LIMIT)
        mine = await families.connections_of(
            connection, actor.user_id, community_id=community.id, statuses=("pending", "accepted")
        )
        incoming = [c for c in mine if c.status == "pending" and c.addressee_id == actor.user_id]
        outgoing = [c for c in mine if c.status == "pending" and c.requester_id == actor.user_id]
        connected = [c for c in mine if c.status == "accepted"]
    genes = sorted(
        {gene for condition in await catalogue.for_community(connection, community.id) for gene in condition.genes}
    )
    return View(
        community,
        actor,
        facts,
        matches,
        incoming,
        outgoing,
        connected,
        counts,
        genes,
        access.can_use_families(actor, community),
    )


async def do_opt_in(connection: asyncpg.Connection, user: User | None, community: Community, facts: Facts) -> None:
    """Share (or change) this family's facts in this community."""
    actor = await actor_for(connection, user, community.id)
    member = access.require_families(actor, community)
    await families.save(connection, community.id, member.id, facts)


async def do_opt_out(connection: asyncpg.Connection, user: User | None, community: Community) -> bool:
    """Stop sharing: the facts are deleted at once (pending requests stay answerable; conversations go on)."""
    actor = await actor_for(connection, user, community.id)
    member = access.require_families(actor, community)
    return await families.delete(connection, community.id, member.id)


async def do_request(
    connection: asyncpg.Connection,
    limiter: RateLimiter,
    user: User | None,
    community: Community,
    target_handle: str,
) -> int:
    """Ask another listed family to connect; they are notified. Refused when either blocked the other, and
    past FAMILY_REQUESTS_PER_USER a day."""
    actor = await actor_for(connection, user, community.id)
    opted_in = actor.is_member and await families.facts_of(connection, community.id, actor.user_id) is not None
    member = access.require_sees_families(actor, community, opted_in=opted_in)
    target = await memberships.user_by_handle(connection, community.id, target_handle.strip()[:64])
    listed = (
        target is not None and target.id != member.id and await families.is_listed(connection, community.id, target.id)
    )
    if target is None or not listed:
        raise not_found(_("There is no such family here."))
    blocked = await families.is_blocked(connection, member.id, target.id)
    if not access.can_connect(actor, community, opted_in=opted_in, target_listed=listed, blocked=blocked):
        raise forbidden(_("You cannot ask this family to connect."))
    if not await limiter.hit(FAMILY_REQUESTS_PER_USER, str(member.id)):
        raise RateLimited(_("You asked many families today: please wait until tomorrow to ask more."))
    async with events.unit_of_work(connection):
        connection_id = await families.create_request(connection, community.id, member.id, target.id)
        if connection_id is None:
            raise Conflict(_("You already asked each other, or are already connected."))
        await notifications.create(
            connection,
            [(target.id, "family")],
            community_id=community.id,
            thread_id=None,
            post_id=None,
            actor_id=member.id,
            data={"event": "requested", "url": f"/c/{community.slug}/families#requests"},
        )
    return connection_id


async def do_answer(
    connection: asyncpg.Connection, user: User | None, community: Community, connection_id: int, *, accept: bool
) -> Connection:
    """The asked family accepts (a conversation opens) or declines; the one who asked is notified."""
    actor = await actor_for(connection, user, community.id)
    member = access.require_families(actor, community)
    found = await families.connection_for(connection, connection_id, member.id)
    if found is None or found.community_id != community.id or found.addressee_id != member.id:
        raise not_found(_("There is no such request."))
    if found.status != "pending":
        raise Conflict(_("This request was already answered."))
    async with events.unit_of_work(connection):
        if not await families.answer(connection, connection_id, member.id, "accepted" if accept else "declined"):
            raise Conflict(_("This request was already answered."))
        url = f"/conversations/{connection_id}" if accept else f"/c/{community.slug}/families"
        await notifications.create(
            connection,
            [(found.requester_id, "family")],
            community_id=community.id,
            thread_id=None,
            post_id=None,
            actor_id=member.id,
            data={"event": "accepted" if accept else "declined", "url": url},
        )
    answered = await families.connection_for(connection, connection_id, member.id)
    assert answered is not None
    return answered


async def connection_of(connection: asyncpg.Connection, user: User | None, connection_id: int) -> Connection:
    """One of the user's own requests or conversations (404 for anyone else's)."""
    me = access.require_signed_in(access.Actor(user, 0, access.ANONYMOUS))
    found = await families.connection_for(connection, connection_id, me.id)
    if found is None:
        raise not_found(_("There is no such request."))
    return found


async def block_between(connection: asyncpg.Connection, blocker_id: int, blocked_id: int) -> None:
    """A block: every open request and conversation between the two ends (in every community, both ways, live),
    and neither may ask the other to connect again. Call inside a unit of work."""
    await families.block(connection, blocker_id, blocked_id)
    for ended in await families.end_between(connection, blocker_id, blocked_id):
        events.emit(events.ConversationEnded(ended))


async def do_block_request(
    connection: asyncpg.Connection, user: User | None, community: Community, connection_id: int
) -> None:
    """The family asked blocks the one who asked (instead of declining): no new request from them, ever."""
    actor = await actor_for(connection, user, community.id)
    member = access.require_families(actor, community)
    found = await families.connection_for(connection, connection_id, member.id)
    if found is None or found.community_id != community.id or found.addressee_id != member.id:
        raise not_found(_("There is no such request."))
    async with events.unit_of_work(connection):
        await block_between(connection, member.id, found.requester_id)

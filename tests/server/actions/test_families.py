"""Families like mine: opt in with facts, see overlapping opted-in families ranked, connect; refusals for everyone else."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
import redis.asyncio as aioredis

from server.actions import access, families
from server.db.queries import communities, users
from server.db.queries.communities import Community
from server.db.queries.users import User
from server.errors import AppError
from server.ratelimit import FAMILY_REQUESTS_PER_USER, RateLimiter
from tests.factories import add_member, create_cast, create_user
from tests.harness import Services


@pytest.fixture
async def limiter(services: Services, redis_prefix: str) -> AsyncIterator[RateLimiter]:
    client = aioredis.Redis.from_url(services.redis_url)
    yield RateLimiter(client, redis_prefix)
    await client.aclose()


async def _setup(db: asyncpg.Connection) -> tuple[dict[str, int], Community]:
    cast = await create_cast(db)
    for name in ("ana", "ben", "cleo"):
        cast[name] = await create_user(db, name)
        await add_member(db, cast["community"], cast[name])
    community = await communities.by_id(db, cast["community"])
    assert community is not None
    return cast, community


async def _user(db: asyncpg.Connection, user_id: int) -> User:
    found = await users.by_id(db, user_id)
    assert found is not None
    return found


def facts(**values: str) -> families.Facts:
    fields = {
        "gene": "",
        "variant": "",
        "subtype": "",
        "treatments": "",
        "age_band": "",
        "country": "",
        "languages": "",
    }
    return families.check_facts(**{**fields, **values})


async def test_an_opted_in_member_sees_families_with_overlapping_facts_ranked_by_overlap(
    db: asyncpg.Connection,
) -> None:
    cast, community = await _setup(db)
    member = await _user(db, cast["member"])
    await families.do_opt_in(
        db, member, community, facts(gene="dok7", treatments="Salbutamol, ephedrine", country="fr")
    )
    await families.do_opt_in(db, await _user(db, cast["ana"]), community, facts(gene="DOK7", treatments="salbutamol"))
    await families.do_opt_in(db, await _user(db, cast["ben"]), community, facts(country="FR"))
    await families.do_opt_in(db, await _user(db, cast["cleo"]), community, facts(gene="CHRNE", country="GB"))

    view = await families.view(db, member, community)

    assert view.facts is not None and view.facts.gene == "DOK7" and view.facts.treatments == ["salbutamol", "ephedrine"]
    assert [(m.name, m.score) for m in view.matches] == [("Ana", 4), ("Ben", 1)]  # Cleo shares nothing
    assert view.matches[0].same_gene and view.matches[0].shared_treatments == ["salbutamol"]
    assert view.counts is None  # a member sees families, never counts


async def test_nothing_is_shown_to_a_member_who_did_not_opt_in(db: asyncpg.Connection, limiter: RateLimiter) -> None:
    cast, community = await _setup(db)
    await families.do_opt_in(db, await _user(db, cast["ana"]), community, facts(gene="DOK7"))
    member = await _user(db, cast["member"])

    view = await families.view(db, member, community)
    assert view.facts is None and view.matches == [] and view.incoming == [] and view.can_use
    with pytest.raises(AppError) as refused:
        await families.do_request(db, limiter, member, community, "ana")
    assert refused.value.status == 403
    assert await db.fetchval("SELECT count(*) FROM family_connections") == 0


@pytest.mark.parametrize("role", ["outsider", "banned", "other_leader"])
async def test_non_members_and_banned_members_are_refused_every_family_door(
    db: asyncpg.Connection, role: str, limiter: RateLimiter
) -> None:
    cast, community = await _setup(db)
    await families.do_opt_in(db, await _user(db, cast["ana"]), community, facts(gene="DOK7"))
    if role == "banned":
        await db.execute(
            "INSERT INTO family_facts (community_id, user_id, gene) VALUES ($1, $2, 'DOK7')",
            cast["community"], cast["banned"],
        )  # fmt: skip
    someone = await _user(db, cast[role])
    with pytest.raises(AppError) as refused:
        await families.view(db, someone, community)
    assert refused.value.status == 403
    for attempt in (
        families.do_opt_in(db, someone, community, facts(gene="DOK7")),
        families.do_request(db, limiter, someone, community, "ana"),
    ):
        with pytest.raises(AppError) as refused:
            await attempt
        assert refused.value.status == 403
    assert await db.fetchval("SELECT count(*) FROM family_connections") == 0


async def test_anonymous_visitors_are_asked_to_log_in(db: asyncpg.Connection) -> None:
    _cast, community = await _setup(db)
    with pytest.raises(AppError) as refused:
        await families.view(db, None, community)
    assert refused.value.status == 401


async def test_a_banned_family_is_no_longer_listed_to_others(db: asyncpg.Connection) -> None:
    cast, community = await _setup(db)
    member = await _user(db, cast["member"])
    await families.do_opt_in(db, member, community, facts(gene="DOK7"))
    await families.do_opt_in(db, await _user(db, cast["ana"]), community, facts(gene="DOK7"))
    await db.execute(
        "INSERT INTO sanctions (community_id, user_id, kind, reason) VALUES ($1, $2, 'ban', 'spam')",
        cast["community"], cast["ana"],
    )  # fmt: skip
    assert (await families.view(db, member, community)).matches == []


@pytest.mark.parametrize("role", ["leader", "admin"])
async def test_leaders_and_site_admins_see_only_counts(db: asyncpg.Connection, role: str, limiter: RateLimiter) -> None:
    cast, community = await _setup(db)
    await families.do_opt_in(db, await _user(db, cast["ana"]), community, facts(gene="DOK7"))
    await families.do_opt_in(db, await _user(db, cast["ben"]), community, facts(gene="DOK7"))
    await families.do_request(db, limiter, await _user(db, cast["ana"]), community, "ben")

    view = await families.view(db, await _user(db, cast[role]), community)

    assert view.counts == families.Counts(opted_in=2, pending=1, connected=0)
    assert view.matches == [] and view.incoming == [] and view.outgoing == [] and view.facts is None


async def test_opting_out_deletes_the_facts_at_once(db: asyncpg.Connection) -> None:
    cast, community = await _setup(db)
    ana = await _user(db, cast["ana"])
    member = await _user(db, cast["member"])
    await families.do_opt_in(db, ana, community, facts(gene="DOK7", variant="c.1124_1127dup"))
    await families.do_opt_in(db, member, community, facts(gene="DOK7"))
    assert [m.name for m in (await families.view(db, member, community)).matches] == ["Ana"]

    assert await families.do_opt_out(db, ana, community)

    assert await db.fetchval("SELECT count(*) FROM family_facts WHERE user_id = $1", cast["ana"]) == 0
    assert await db.fetchval("SELECT count(*) FROM family_facts WHERE variant LIKE 'c.1124%'") == 0
    assert (await families.view(db, member, community)).matches == []
    assert (await families.view(db, ana, community)).matches == []  # and she sees no one any more


async def test_leaving_the_community_deletes_the_facts_too(db: asyncpg.Connection) -> None:
    cast, community = await _setup(db)
    await families.do_opt_in(db, await _user(db, cast["ana"]), community, facts(gene="DOK7"))
    await db.execute("DELETE FROM memberships WHERE user_id = $1", cast["ana"])
    assert await db.fetchval("SELECT count(*) FROM family_facts") == 0


async def test_a_request_is_notified_and_accepting_it_opens_a_conversation(
    db: asyncpg.Connection, limiter: RateLimiter
) -> None:
    cast, community = await _setup(db)
    ana, member = await _user(db, cast["ana"]), await _user(db, cast["member"])
    await families.do_opt_in(db, ana, community, facts(gene="DOK7"))
    await families.do_opt_in(db, member, community, facts(gene="DOK7"))

    request_id = await families.do_request(db, limiter, member, community, "ana")

    assert await db.fetchval("SELECT data->>'event' FROM notifications WHERE user_id = $1", cast["ana"]) == "requested"
    with pytest.raises(AppError) as twice:
        await families.do_request(db, limiter, ana, community, "member")  # the other way round: the same pair
    assert twice.value.status == 409
    with pytest.raises(AppError) as not_theirs:
        await families.do_answer(db, member, community, request_id, accept=True)  # only the one asked answers
    assert not_theirs.value.status == 404
    assert [c.other_name for c in (await families.view(db, ana, community)).incoming] == ["Member"]

    answered = await families.do_answer(db, ana, community, request_id, accept=True)

    assert answered.status == "accepted"
    assert (
        await db.fetchval(
            "SELECT data->>'url' FROM notifications WHERE user_id = $1 AND data->>'event' = 'accepted'", cast["member"]
        )
        == f"/conversations/{request_id}"
    )
    assert [c.id for c in (await families.view(db, member, community)).connected] == [request_id]


async def test_a_declined_request_can_be_asked_again_later(db: asyncpg.Connection, limiter: RateLimiter) -> None:
    cast, community = await _setup(db)
    ana, member = await _user(db, cast["ana"]), await _user(db, cast["member"])
    await families.do_opt_in(db, ana, community, facts(gene="DOK7"))
    await families.do_opt_in(db, member, community, facts(gene="DOK7"))
    first = await families.do_request(db, limiter, member, community, "ana")
    assert (await families.do_answer(db, ana, community, first, accept=False)).status == "declined"
    assert (
        await db.fetchval("SELECT data->>'event' FROM notifications WHERE user_id = $1", cast["member"]) == "declined"
    )
    assert await families.do_request(db, limiter, member, community, "ana") != first


async def test_someone_blocked_cannot_ask_again_and_is_not_listed(db: asyncpg.Connection, limiter: RateLimiter) -> None:
    cast, community = await _setup(db)
    ana, member = await _user(db, cast["ana"]), await _user(db, cast["member"])
    await families.do_opt_in(db, ana, community, facts(gene="DOK7"))
    await families.do_opt_in(db, member, community, facts(gene="DOK7"))
    await db.execute("INSERT INTO person_blocks (blocker_id, blocked_id) VALUES ($1, $2)", cast["ana"], cast["member"])

    assert (await families.view(db, member, community)).matches == []
    with pytest.raises(AppError) as refused:
        await families.do_request(db, limiter, member, community, "ana")
    assert refused.value.status == 403
    assert await db.fetchval("SELECT count(*) FROM family_connections") == 0


async def test_families_appear_under_the_name_they_use_in_that_community(
    db: asyncpg.Connection, limiter: RateLimiter
) -> None:
    cast, community = await _setup(db)
    await db.execute(
        "UPDATE memberships SET pseudonym = 'Rose', alias = 4242 WHERE user_id = $1 AND community_id = $2",
        cast["ana"], cast["community"],
    )  # fmt: skip
    member = await _user(db, cast["member"])
    await families.do_opt_in(db, await _user(db, cast["ana"]), community, facts(gene="DOK7"))
    await families.do_opt_in(db, member, community, facts(gene="DOK7"))

    [match] = (await families.view(db, member, community)).matches

    assert (match.name, match.handle) == ("Rose", "~4242")
    assert "ana" not in repr(match).lower()
    request_id = await families.do_request(db, limiter, member, community, "~4242")
    found = await families.connection_of(db, member, request_id)
    assert (found.other_name, found.other_handle) == ("Rose", "~4242")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({}, "form"),
        ({"gene": "DOK 7!"}, "gene"),
        ({"country": "France"}, "country"),
        ({"age_band": "7"}, "age_band"),
        ({"treatments": ",".join(f"t{n}" for n in range(11))}, "treatments"),
        ({"languages": "x" * 61}, "languages"),
    ],
)
def test_facts_that_are_not_valid_are_refused_with_their_field(values: dict[str, str], field: str) -> None:
    with pytest.raises(AppError) as refused:
        facts(**values)
    assert (refused.value.status, refused.value.field) == (400, field)


async def test_gene_suggestions_are_the_genes_of_the_communitys_catalogue_conditions(db: asyncpg.Connection) -> None:
    from tests.factories import load_catalogue

    cast, community = await _setup(db)
    await load_catalogue(db, {"ORPHA:98913"})
    await db.execute("INSERT INTO community_conditions (community_id, code) VALUES ($1, 'ORPHA:98913')", community.id)
    view = await families.view(db, await _user(db, cast["member"]), community)
    assert "DOK7" in view.gene_suggestions and view.gene_suggestions == sorted(view.gene_suggestions)


@pytest.mark.parametrize("role", ["outsider", "member", "muted", "banned", "leader", "admin"])
async def test_the_sql_twin_lists_exactly_the_families_the_rule_lets_in(db: asyncpg.Connection, role: str) -> None:
    from server.db.queries import families as family_rows

    cast, community = await _setup(db)
    user = await _user(db, cast[role])
    actor = await access.actor_for(db, user, community.id)
    if actor.is_member:
        await db.execute(
            "INSERT INTO family_facts (community_id, user_id, gene) VALUES ($1, $2, 'DOK7')", community.id, user.id
        )
    assert await family_rows.is_listed(db, community.id, user.id) == access.can_use_families(actor, community)


async def test_the_family_asked_may_block_instead_of_declining(db: asyncpg.Connection, limiter: RateLimiter) -> None:
    cast, community = await _setup(db)
    ana, member = await _user(db, cast["ana"]), await _user(db, cast["member"])
    await families.do_opt_in(db, ana, community, facts(gene="DOK7"))
    await families.do_opt_in(db, member, community, facts(gene="DOK7"))
    request_id = await families.do_request(db, limiter, member, community, "ana")
    with pytest.raises(AppError) as not_theirs:
        await families.do_block_request(db, member, community, request_id)  # only the family asked
    assert not_theirs.value.status == 404

    await families.do_block_request(db, ana, community, request_id)

    assert await db.fetchval("SELECT status FROM family_connections") == "ended"
    with pytest.raises(AppError) as refused:
        await families.do_request(db, limiter, member, community, "ana")
    assert refused.value.status == 403


async def test_a_member_asks_at_most_so_many_families_a_day(db: asyncpg.Connection, limiter: RateLimiter) -> None:
    cast, community = await _setup(db)
    member = await _user(db, cast["member"])
    await families.do_opt_in(db, member, community, facts(gene="DOK7"))
    for number in range(FAMILY_REQUESTS_PER_USER.count + 1):
        other = await create_user(db, f"family{number}")
        await add_member(db, community.id, other)
        await families.do_opt_in(db, await _user(db, other), community, facts(gene="DOK7"))
    for number in range(FAMILY_REQUESTS_PER_USER.count):
        await families.do_request(db, limiter, member, community, f"family{number}")
    with pytest.raises(AppError) as refused:
        await families.do_request(db, limiter, member, community, f"family{FAMILY_REQUESTS_PER_USER.count}")
    assert refused.value.status == 429
    assert await db.fetchval("SELECT count(*) FROM family_connections") == FAMILY_REQUESTS_PER_USER.count

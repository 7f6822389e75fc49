"""Community actions: directory search and pages, who may see a community, joining, leaving, leaders."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from server.actions import catalogue, communities
from server.db.queries import communities as community_queries
from server.db.queries import users
from server.errors import AppError
from tests.factories import add_member, create_cast, create_community, create_user, table_rows


async def _user(db: asyncpg.Connection, user_id: int) -> users.User:
    user = await users.by_id(db, user_id)
    assert user is not None
    return user


async def _community(db: asyncpg.Connection, community_id: int) -> community_queries.Community:
    community = await community_queries.by_id(db, community_id)
    assert community is not None
    return community


async def test_a_search_becomes_a_prefix_match_on_every_folded_word(db: asyncpg.Connection) -> None:
    await create_community(db, "sjogren", "Sjögren syndrome")  # its words make the vocabulary: no typo here
    assert (await catalogue.search_query(db, "Myasth  cong")).tsquery == "myasth:* & cong:*"
    assert (await catalogue.search_query(db, "SJÖGREN")).tsquery == "sjogren:*"


async def test_tsquery_operators_typed_by_a_visitor_are_only_separators(db: asyncpg.Connection) -> None:
    assert (await catalogue.search_query(db, "a & b | !c:* (d)")).tsquery == "a:* & b:* & c:* & d:*"
    assert (await catalogue.search_query(db, "'&|!:*")).tsquery is None
    assert (await catalogue.search_query(db, "ab_cd")).tsquery == "ab:* & cd:*"


@pytest.mark.parametrize(("value", "page"), [(None, 1), ("3", 3), ("0", 1), ("-2", 1), ("x", 1), ("99999999", 10_000)])
def test_an_odd_page_number_never_fails(value: str | None, page: int) -> None:
    assert communities.check_page(value) == page


async def test_search_finds_communities_by_name_prefix_and_by_synonym(db: asyncpg.Connection) -> None:
    await create_community(db, "congenital-myasthenic-syndromes", "Congenital Myasthenic Syndromes", synonyms=["CMS"])
    await create_community(db, "dravet-syndrome", "Dravet Syndrome", synonyms=["SMEI"])
    by_prefix = await communities.directory(db, "myasth", 1)
    by_synonym = await communities.directory(db, "smei", 1)
    assert [c.slug for c in by_prefix.communities] == ["congenital-myasthenic-syndromes"]
    assert [c.slug for c in by_synonym.communities] == ["dravet-syndrome"]
    assert (await communities.directory(db, "syndrome", 1)).total == 2
    assert (await communities.directory(db, "unknownword", 1)).total == 0


async def test_a_search_of_only_punctuation_finds_nothing_rather_than_everything(db: asyncpg.Connection) -> None:
    await create_community(db)
    found = await communities.directory(db, "&|!", 1)
    assert found.communities == [] and found.total == 0


async def test_the_directory_lists_only_active_communities_twenty_a_page(db: asyncpg.Connection) -> None:
    for number in range(45):
        await create_community(db, f"condition-{number}", f"Condition {number}")
    await create_community(db, "proposed-one", "Proposed Condition", status="proposed")
    await create_community(db, "declined-one", "Declined Condition", status="declined")
    first = await communities.directory(db, "", 1)
    last = await communities.directory(db, "", 3)
    assert first.total == 45 and first.pages == 3 and len(first.communities) == 20
    assert len(last.communities) == 5
    seen = {c.slug for page in (1, 2, 3) for c in (await communities.directory(db, "", page)).communities}
    assert len(seen) == 45 and "proposed-one" not in seen and "declined-one" not in seen
    assert (await communities.directory(db, "condition", 1)).total == 45
    past_the_end = await communities.directory(db, "", 50)
    assert past_the_end.page == 3 and [c.slug for c in past_the_end.communities] == [c.slug for c in last.communities]


async def test_the_most_recently_active_community_comes_first(db: asyncpg.Connection) -> None:
    await create_community(db, "quiet", "Quiet Condition", last_activity_at=datetime(2020, 1, 1, tzinfo=UTC))
    await create_community(db, "busy", "Busy Condition")
    assert [c.slug for c in (await communities.directory(db, "", 1)).communities] == ["busy", "quiet"]


async def test_a_proposed_community_is_hidden_except_from_admins_and_its_proposer(db: asyncpg.Connection) -> None:
    community_id = await create_community(db, "proposed-one", "Proposed", status="proposed")
    proposer = await create_user(db, "proposer")
    stranger = await create_user(db, "stranger")
    admin = await create_user(db, "siteadmin", admin=True)
    await db.execute(
        "INSERT INTO community_proposals (community_id, proposer_id, reason) VALUES ($1, $2, 'x')",
        community_id,
        proposer,
    )
    for viewer in (None, await _user(db, stranger)):
        with pytest.raises(AppError) as refused:
            await communities.load(db, "proposed-one", viewer)
        assert refused.value.status == 404
    assert (await communities.load(db, "proposed-one", await _user(db, proposer))).id == community_id
    assert (await communities.load(db, "proposed-one", await _user(db, admin))).id == community_id


async def test_joining_twice_counts_the_member_once_and_leaving_counts_down(db: asyncpg.Connection) -> None:
    community_id = await create_community(db)
    user = await _user(db, await create_user(db, "maria"))
    community = await _community(db, community_id)
    assert await communities.do_join(db, user, community) is True
    assert await communities.do_join(db, user, community) is False
    assert (await _community(db, community_id)).member_count == 1
    assert await communities.do_leave(db, user, community) is True
    assert (await _community(db, community_id)).member_count == 0


async def test_a_banned_member_who_left_cannot_join_again(db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    community = await _community(db, cast["community"])
    banned = await _user(db, cast["banned"])
    await communities.do_leave(db, banned, community)
    before = await table_rows(db, "memberships", "communities")
    with pytest.raises(AppError) as refused:
        await communities.do_join(db, banned, community)
    assert refused.value.status == 403 and "spam" in refused.value.message
    assert await table_rows(db, "memberships", "communities") == before


async def test_no_one_joins_a_community_that_is_not_open(db: asyncpg.Connection) -> None:
    community_id = await create_community(db, "proposed-one", "Proposed", status="proposed")
    admin = await _user(db, await create_user(db, "siteadmin", admin=True))
    with pytest.raises(AppError) as refused:
        await communities.do_join(db, admin, await _community(db, community_id))
    assert refused.value.status == 409
    assert await db.fetchval("SELECT count(*) FROM memberships") == 0


async def test_an_admin_appoints_a_leader_who_joins_at_once_and_it_is_on_the_audit_log(db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    community = await _community(db, cast["community"])
    admin = await _user(db, cast["admin"])
    await communities.do_appoint_leader(db, admin, community, "outsider")
    role = await db.fetchval(
        "SELECT role FROM memberships WHERE community_id = $1 AND user_id = $2", community.id, cast["outsider"]
    )
    assert role == "leader"
    assert (await _community(db, community.id)).member_count == community.member_count + 1
    await communities.do_remove_leader(db, admin, community, "outsider")
    role = await db.fetchval(
        "SELECT role FROM memberships WHERE community_id = $1 AND user_id = $2", community.id, cast["outsider"]
    )
    assert role == "member"
    actions = await db.fetch("SELECT action, actor_id, target_user_id FROM moderation_actions ORDER BY id")
    assert [(a["action"], a["actor_id"], a["target_user_id"]) for a in actions] == [
        ("leader_appointed", cast["admin"], cast["outsider"]),
        ("leader_removed", cast["admin"], cast["outsider"]),
    ]


@pytest.mark.parametrize("role", [None, "member", "leader", "other_leader", "banned"])
async def test_only_site_admins_appoint_or_remove_leaders(db: asyncpg.Connection, role: str | None) -> None:
    cast = await create_cast(db)
    community = await _community(db, cast["community"])
    actor = await _user(db, cast[role]) if role else None
    before = await table_rows(db, "memberships", "moderation_actions")
    for attempt in (communities.do_appoint_leader, communities.do_remove_leader):
        with pytest.raises(AppError) as refused:
            await attempt(db, actor, community, "member" if attempt is communities.do_appoint_leader else "leader")
        assert refused.value.status == (401 if role is None else 403)
    assert await table_rows(db, "memberships", "moderation_actions") == before


async def test_appointing_an_unknown_or_banned_member_is_refused_with_a_reason(db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    community = await _community(db, cast["community"])
    admin = await _user(db, cast["admin"])
    with pytest.raises(AppError) as unknown:
        await communities.do_appoint_leader(db, admin, community, "nobody-here")
    with pytest.raises(AppError) as banned:
        await communities.do_appoint_leader(db, admin, community, "banned")
    with pytest.raises(AppError) as not_leader:
        await communities.do_remove_leader(db, admin, community, "member")
    assert (unknown.value.status, banned.value.status, not_leader.value.status) == (404, 409, 409)
    assert unknown.value.field == "username" and banned.value.field == "username"


async def test_the_overview_lists_leaders_and_hides_hidden_tips_from_members(db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    community = await _community(db, cast["community"])
    await add_member(db, cast["other_community"], cast["member"])
    await db.execute(
        "INSERT INTO tips (community_id, author_id, name, description, hidden) VALUES ($1, $2, 'Shown', 'x', false), ($1, $2, 'Hidden', 'y', true)",
        community.id,
        cast["member"],
    )
    as_member = await communities.overview(db, community, await _user(db, cast["member"]))
    as_leader = await communities.overview(db, community, await _user(db, cast["leader"]))
    assert [leader.username for leader in as_member.leaders] == ["leader"]
    assert [tip.name for tip in as_member.tips] == ["Shown"]
    assert sorted(tip.name for tip in as_leader.tips) == ["Hidden", "Shown"]


# --- Directory search over the catalogue (issue 14) ----------------------------------------------


async def _demo_with_catalogue(db: asyncpg.Connection) -> None:
    from server.demo import CMS_CODES, OTHER_CODES, load_demo_data
    from tests.factories import load_catalogue

    await load_catalogue(
        db, set(CMS_CODES) | {code for codes in OTHER_CODES.values() for code in codes} | {"ORPHA:79414"}
    )
    await load_demo_data(db)


@pytest.mark.parametrize(
    "query",
    [
        "DOK7",  # the gene on a child's report
        "dok7",
        "Syndromes myasthéniques congénitaux",  # the French name
        "syndromes myastheniques congenitaux",
        "myastenic",  # a small typo
        "congenital myastenic syndrome",
        "ORPHA:98913",  # Postsynaptic CMS, one of the conditions the community covers
        "orpha 590",
        "OMIM:254300",
        "CHRNE",
        "drooping eyelid",  # a symptom, in lay words
    ],
)
async def test_the_directory_finds_cms_by_gene_french_name_typo_code_and_symptom(
    db: asyncpg.Connection, query: str
) -> None:
    await _demo_with_catalogue(db)
    found = await communities.directory(db, query, 1)
    assert found.communities and found.communities[0].slug == "congenital-myasthenic-syndromes", query


async def test_the_directory_says_which_typo_it_corrected(db: asyncpg.Connection) -> None:
    await _demo_with_catalogue(db)
    found = await communities.directory(db, "myastenic", 1)
    assert found.corrections == {"myastenic": "myasthenic"}
    assert (await communities.directory(db, "DOK7", 1)).corrections == {}


async def test_the_directory_search_ignores_accents_and_case_both_ways(db: asyncpg.Connection) -> None:
    await create_community(db, "ecole", "Troubles d'apprentissage à l'école", synonyms=["Dyspraxie"])
    await create_community(db, "sjogren", "Sjogren syndrome")
    for query in ("ecole", "ÉCOLE", "école", "Ecole"):
        assert [c.slug for c in (await communities.directory(db, query, 1)).communities] == ["ecole"], query
    assert [c.slug for c in (await communities.directory(db, "Sjögren", 1)).communities] == ["sjogren"]


async def test_a_gene_finds_only_the_communities_covering_it(db: asyncpg.Connection) -> None:
    await _demo_with_catalogue(db)
    found = await communities.directory(db, "SCN1A", 1)  # Dravet's gene, not CMS's
    assert [c.slug for c in found.communities] == ["dravet-syndrome"]


async def test_catalogue_conditions_with_no_community_are_offered_for_a_new_one(db: asyncpg.Connection) -> None:
    await _demo_with_catalogue(db)
    found = await communities.directory(db, "woolly hair", 1)
    assert found.communities == []
    assert [condition.code for condition in found.uncovered] == ["ORPHA:79414"]
    covered = await communities.directory(db, "DOK7", 1)
    assert covered.uncovered == []  # the DOK7 conditions in this catalogue are all covered by CMS

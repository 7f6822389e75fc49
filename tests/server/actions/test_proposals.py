"""Proposals: unique slugs, checked fields, admins' decisions, the proposer's notification and leadership offer."""

from __future__ import annotations

import asyncpg
import pytest

from server.actions import communities as community_actions
from server.actions import proposals
from server.db.queries import communities, users
from server.errors import AppError
from tests.factories import create_community, create_user, table_rows


def _input(name: str = "Fibrodysplasia Ossificans Progressiva", **changes: str) -> proposals.ProposalInput:
    fields = {
        "synonyms": "FOP, Stone man syndrome, fop",
        "description": "Bone grows in muscle.",
        "reason": "We need it.",
    }
    fields.update(changes)
    return proposals.check_proposal(name=name, **fields)


async def _people(db: asyncpg.Connection) -> tuple[users.User, users.User, users.User]:
    proposer = await users.by_id(db, await create_user(db, "proposer"))
    admin = await users.by_id(db, await create_user(db, "siteadmin", admin=True))
    other = await users.by_id(db, await create_user(db, "other"))
    assert proposer and admin and other
    return proposer, admin, other


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Syndrome de Sjögren", "syndrome-de-sjogren"),
        ("  3-M syndrome (type 2) ", "3-m-syndrome-type-2"),
        ("重症肌无力", "community"),
        ("x" * 120, "x" * 70),
    ],
)
def test_a_slug_is_made_from_the_name(name: str, slug: str) -> None:
    assert proposals.slugify(name) == slug


def test_synonyms_are_split_on_commas_without_blanks_or_repeats() -> None:
    assert _input().synonyms == ["FOP", "Stone man syndrome"]
    assert proposals.check_synonyms(["A", " a ", "B"]) == ["A", "B"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "x"), ("name", "n" * 121), ("description", " "), ("reason", ""), ("synonyms", "s" * 121)],
)
def test_a_proposal_with_a_missing_or_too_long_field_is_refused(field: str, value: str) -> None:
    values = {"name": "Fine name", "synonyms": "", "description": "Fine.", "reason": "Fine."}
    values[field] = value
    with pytest.raises(AppError) as refused:
        proposals.check_proposal(**values)
    assert refused.value.field == field


async def test_a_proposal_creates_a_proposed_community_with_a_unique_slug(db: asyncpg.Connection) -> None:
    proposer, _admin, _other = await _people(db)
    await create_community(db, "rare-thing", "Something else", status="declined")
    await create_community(db, "rare-thing-2", "Something else again", status="archived")
    proposal = await proposals.do_propose(db, proposer, _input("Rare thing"))
    assert proposal.slug == "rare-thing-3" and proposal.status == "pending" and proposal.community_status == "proposed"
    assert proposal.proposer_id == proposer.id and proposal.reason == "We need it."
    assert proposal.synonyms == ["FOP", "Stone man syndrome"]


async def test_a_name_that_is_already_open_or_proposed_is_refused(db: asyncpg.Connection) -> None:
    proposer, _admin, other = await _people(db)
    await create_community(db, "dravet-syndrome", "Dravet Syndrome")
    await proposals.do_propose(db, proposer, _input("Rare Thing"))
    before = await table_rows(db, "communities", "community_proposals")
    for name in ("dravet syndrome", "RARE THING"):
        with pytest.raises(AppError) as refused:
            await proposals.do_propose(db, other, _input(name))
        assert (refused.value.status, refused.value.field) == (409, "name")
    assert await table_rows(db, "communities", "community_proposals") == before


async def test_a_member_can_have_only_a_few_proposals_waiting(db: asyncpg.Connection) -> None:
    proposer, _admin, _other = await _people(db)
    for number in range(proposals.MAX_PENDING_PER_MEMBER):
        await proposals.do_propose(db, proposer, _input(f"Condition {number}"))
    with pytest.raises(AppError) as refused:
        await proposals.do_propose(db, proposer, _input("One too many"))
    assert refused.value.status == 429


async def test_anonymous_visitors_cannot_propose(db: asyncpg.Connection) -> None:
    with pytest.raises(AppError) as refused:
        await proposals.do_propose(db, None, _input())
    assert refused.value.status == 401
    assert await db.fetchval("SELECT count(*) FROM communities") == 0


async def test_approval_opens_the_community_with_a_main_room_and_tells_the_proposer(db: asyncpg.Connection) -> None:
    proposer, admin, _other = await _people(db)
    proposal = await proposals.do_propose(db, proposer, _input())
    decided = await proposals.do_decide(db, admin, proposal.id, "approve", "")
    assert decided.status == "approved" and decided.community_status == "active"
    room = await db.fetchrow("SELECT slug, name, is_main FROM rooms WHERE community_id = $1", proposal.community_id)
    assert room is not None and dict(room) == {"slug": "main", "name": "Main room", "is_main": True}
    note = await db.fetchrow(
        "SELECT user_id, kind, community_id, actor_id, data FROM notifications WHERE kind = 'proposal'"
    )
    assert (note["user_id"], note["kind"], note["community_id"], note["actor_id"]) == (
        proposer.id,
        "proposal",
        proposal.community_id,
        admin.id,
    )
    assert {key: note["data"][key] for key in ("status", "reason", "community")} == {
        "status": "approved",
        "reason": "",
        "community": "Fibrodysplasia Ossificans Progressiva",
    }
    listed = await community_actions.directory(db, "stone man", 1)
    assert [c.slug for c in listed.communities] == [proposal.slug]


async def test_a_decline_needs_a_reason_which_the_proposer_reads(db: asyncpg.Connection) -> None:
    proposer, admin, _other = await _people(db)
    proposal = await proposals.do_propose(db, proposer, _input())
    with pytest.raises(AppError) as no_reason:
        await proposals.do_decide(db, admin, proposal.id, "decline", "  ")
    assert (no_reason.value.status, no_reason.value.field) == (400, "reason")
    decided = await proposals.do_decide(db, admin, proposal.id, "decline", "A community for FOP exists elsewhere.")
    assert decided.status == "declined" and decided.community_status == "declined"
    data = await db.fetchval("SELECT data FROM notifications WHERE user_id = $1 AND kind = 'proposal'", proposer.id)
    assert data["status"] == "declined" and data["reason"] == "A community for FOP exists elsewhere."
    assert await db.fetchval("SELECT count(*) FROM rooms") == 0
    own = await proposals.list_own_with_offers(db, proposer)
    assert [(p.status, p.decision_reason, offer) for p, offer in own] == [
        ("declined", "A community for FOP exists elsewhere.", False)
    ]


async def test_a_proposal_is_decided_only_once(db: asyncpg.Connection) -> None:
    proposer, admin, _other = await _people(db)
    proposal = await proposals.do_propose(db, proposer, _input())
    await proposals.do_decide(db, admin, proposal.id, "approve", "")
    with pytest.raises(AppError) as again:
        await proposals.do_decide(db, admin, proposal.id, "decline", "changed my mind")
    assert again.value.status == 409
    assert await db.fetchval("SELECT status FROM communities WHERE id = $1", proposal.community_id) == "active"
    assert await db.fetchval("SELECT count(*) FROM notifications WHERE kind = 'proposal'") == 1


@pytest.mark.parametrize("who", ["anonymous", "proposer", "other", "leader"])
async def test_only_site_admins_see_and_decide_proposals(db: asyncpg.Connection, who: str) -> None:
    proposer, _admin, other = await _people(db)
    proposal = await proposals.do_propose(db, proposer, _input())
    leader = await users.by_id(db, await create_user(db, "aleader"))
    assert leader is not None
    await db.execute(
        "INSERT INTO memberships (community_id, user_id, role) VALUES ($1, $2, 'leader')",
        proposal.community_id,
        leader.id,
    )
    actor = {"anonymous": None, "proposer": proposer, "other": other, "leader": leader}[who]
    before = await table_rows(db, "communities", "community_proposals", "rooms", "notifications")
    for attempt in (proposals.do_decide(db, actor, proposal.id, "approve", ""), proposals.list_for_admin(db, actor)):
        with pytest.raises(AppError) as refused:
            await attempt
        assert refused.value.status == (401 if actor is None else 403)
    assert await table_rows(db, "communities", "community_proposals", "rooms", "notifications") == before


async def test_only_the_proposer_of_an_approved_proposal_can_become_its_leader(db: asyncpg.Connection) -> None:
    proposer, admin, other = await _people(db)
    proposal = await proposals.do_propose(db, proposer, _input())
    community = await communities.by_id(db, proposal.community_id)
    assert community is not None
    with pytest.raises(AppError) as too_early:
        await proposals.do_accept_leadership(db, proposer, community)
    assert too_early.value.status == 403
    await proposals.do_decide(db, admin, proposal.id, "approve", "")
    community = await communities.by_id(db, proposal.community_id)
    assert community is not None
    for someone in (other, admin, None):
        with pytest.raises(AppError):
            await proposals.do_accept_leadership(db, someone, community)
    assert await db.fetchval("SELECT count(*) FROM memberships") == 0
    assert [offer for _p, offer in await proposals.list_own_with_offers(db, proposer)] == [True]
    await proposals.do_accept_leadership(db, proposer, community)
    await proposals.do_accept_leadership(db, proposer, community)  # a second click changes nothing
    row = await db.fetchrow("SELECT role FROM memberships WHERE user_id = $1", proposer.id)
    assert row["role"] == "leader"
    assert (await communities.by_id(db, community.id)).member_count == 1
    assert [offer for _p, offer in await proposals.list_own_with_offers(db, proposer)] == [False]


async def test_a_proposer_removed_as_leader_cannot_take_the_offer_again(db: asyncpg.Connection) -> None:
    proposer, admin, _other = await _people(db)
    proposal = await proposals.do_propose(db, proposer, _input())
    await proposals.do_decide(db, admin, proposal.id, "approve", "")
    community = await communities.by_id(db, proposal.community_id)
    assert community is not None
    await proposals.do_accept_leadership(db, proposer, community)
    await community_actions.do_remove_leader(db, admin, community, "proposer")
    with pytest.raises(AppError) as refused:
        await proposals.do_accept_leadership(db, proposer, community)
    assert refused.value.status == 403
    assert await db.fetchval("SELECT role FROM memberships WHERE user_id = $1", proposer.id) == "member"


# --- Proposals from the catalogue (issue 14, point 3) ---------------------------------------------


async def test_a_proposal_picked_from_the_catalogue_carries_its_codes_names_and_genes(db: asyncpg.Connection) -> None:
    from tests.factories import load_catalogue

    await load_catalogue(db, {"ORPHA:98913", "ORPHA:33069"})
    proposer, _admin, _other = await _people(db)
    data = _input("Postsynaptic CMS", synonyms="PCMS", codes="orpha:98913")
    assert data.codes == ["ORPHA:98913"]
    proposal = await proposals.do_propose(db, proposer, data)
    assert proposal.codes == ["ORPHA:98913"]
    assert {"DOK7", "CHRNE", "RAPSN"} <= set(proposal.genes)
    # The catalogue's own name is kept as another name, so the directory finds it by either.
    assert proposal.synonyms == ["PCMS", "Postsynaptic congenital myasthenic syndromes"]


async def test_proposing_a_condition_a_community_covers_points_to_that_community(db: asyncpg.Connection) -> None:
    from server.actions import catalogue
    from server.errors import Conflict
    from tests.factories import load_catalogue

    await load_catalogue(db, {"ORPHA:98913"})
    cms = await create_community(db, "cms", "Congenital Myasthenic Syndromes")
    await catalogue.link_conditions(db, cms, ["ORPHA:98913"])
    proposer, _admin, _other = await _people(db)
    with pytest.raises(Conflict, match="already has a community: Congenital Myasthenic Syndromes") as refused:
        await proposals.do_propose(db, proposer, _input("Another CMS", codes="ORPHA:98913"))
    assert refused.value.field == "code"
    assert await db.fetchval("SELECT count(*) FROM community_proposals") == 0


async def test_a_proposed_community_covering_a_condition_also_blocks_a_second_one(db: asyncpg.Connection) -> None:
    from server.errors import Conflict
    from tests.factories import load_catalogue

    await load_catalogue(db, {"ORPHA:33069"})
    proposer, _admin, other = await _people(db)
    await proposals.do_propose(db, proposer, _input("Dravet", codes="ORPHA:33069"))
    with pytest.raises(Conflict, match="already been proposed: Dravet"):
        await proposals.do_propose(db, other, _input("Dravet syndrome (SMEI)", codes="ORPHA:33069"))


@pytest.mark.parametrize(("codes", "error"), [("DOK7", "ORPHA:590 or OMIM:254300"), ("ORPHA:1", "ORPHA:1")])
async def test_a_code_that_is_malformed_or_not_in_the_catalogue_is_refused(
    db: asyncpg.Connection, codes: str, error: str
) -> None:
    from tests.factories import load_catalogue

    await load_catalogue(db, {"ORPHA:590"})
    proposer, _admin, _other = await _people(db)
    with pytest.raises(AppError, match=error):
        await proposals.do_propose(db, proposer, _input(codes=codes))


async def test_a_condition_not_in_the_catalogue_is_still_proposed_in_free_text(db: asyncpg.Connection) -> None:
    proposer, _admin, _other = await _people(db)
    proposal = await proposals.do_propose(db, proposer, _input("A condition with no code yet"))
    assert proposal.codes == [] and proposal.genes == []


async def test_an_approved_community_from_the_catalogue_starts_with_its_facts(db: asyncpg.Connection) -> None:
    from tests.factories import load_catalogue

    await load_catalogue(db, {"ORPHA:98913"})
    proposer, admin, _other = await _people(db)
    proposal = await proposals.do_propose(db, proposer, _input("Postsynaptic CMS", codes="ORPHA:98913"))
    await proposals.do_decide(db, admin, proposal.id, "approve", "")
    community = await communities.by_id(db, proposal.community_id)
    assert community is not None
    view = await community_actions.overview(db, community, None)
    assert view.catalogue is not None and "DOK7" in view.catalogue.genes
    [facts] = view.catalogue.conditions
    assert facts.condition.code == "ORPHA:98913"
    assert "Ptosis" in [symptom.name for symptom in facts.symptoms]
    assert (await community_actions.directory(db, "DOK7", 1)).communities[0].id == community.id


async def test_a_catalogue_name_too_long_for_another_name_is_left_out_rather_than_refused(
    db: asyncpg.Connection,
) -> None:
    from server.actions import catalogue
    from tests.factories import load_catalogue

    whole = catalogue.read_file()
    longest = max(whole.conditions, key=lambda condition: len(condition[1]))
    assert len(longest[1]) > proposals.MAX_SYNONYM
    await load_catalogue(db, {longest[0]})
    proposer, _admin, _other = await _people(db)
    proposal = await proposals.do_propose(db, proposer, _input("A shorter name", synonyms="", codes=longest[0]))
    assert proposal.synonyms == [] and proposal.codes == [longest[0]]


async def test_the_site_admins_are_told_of_a_proposal_until_one_of_them_decides_it(db: asyncpg.Connection) -> None:
    proposer, admin, _other = await _people(db)
    proposal = await proposals.do_propose(db, proposer, _input())
    waiting = await db.fetchrow("SELECT user_id, kind, data, read_at FROM notifications")
    assert (waiting["user_id"], waiting["kind"], waiting["data"]["item"]) == (
        admin.id,
        "review",
        f"proposal:{proposal.id}",
    )
    assert waiting["read_at"] is None
    await proposals.do_decide(db, admin, proposal.id, "approve", "")
    assert await db.fetchval("SELECT read_at FROM notifications WHERE kind = 'review'") is not None

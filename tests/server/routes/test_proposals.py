"""Proposing a community over HTTP, the admins' decisions, "your proposals" and the leadership button."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.factories import create_community, create_user, csrf_token, login, table_rows
from tests.test_templates import page_problems


def _fields(**changes: str) -> dict[str, str]:
    fields = {
        "name": "Fibrodysplasia Ossificans Progressiva",
        "synonyms": "FOP, Stone man syndrome",
        "description": "Muscle slowly turns into bone.",
        "reason": "Families in three countries asked.",
    }
    fields.update(changes)
    return fields


async def _propose(client: httpx.AsyncClient, **changes: str) -> httpx.Response:
    token = await csrf_token(client, "/communities/new")
    return await client.post("/communities/new", data={**_fields(**changes), "csrf_token": token})


async def test_a_member_proposes_a_community_and_sees_it_waiting(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_user(db, "proposer")
    await login(client, "proposer")
    form = await client.get("/communities/new")
    assert form.status_code == 200 and page_problems(form.text) == []
    response = await _propose(client)
    assert response.status_code == 303
    row = await db.fetchrow("SELECT slug, status, synonyms FROM communities")
    assert row is not None and dict(row) == {
        "slug": "fibrodysplasia-ossificans-progressiva",
        "status": "proposed",
        "synonyms": ["FOP", "Stone man syndrome"],
    }
    assert await db.fetchval("SELECT reason FROM community_proposals") == "Families in three countries asked."
    mine = await client.get(response.headers["location"])
    assert "Your proposals" in mine.text and "Waiting for a decision" in mine.text
    # Not in the directory, and hidden from everyone but the proposer and admins.
    assert "Fibrodysplasia" not in (await client.get("/")).text
    assert (await client.get("/c/fibrodysplasia-ossificans-progressiva")).status_code == 200
    async with httpx.AsyncClient(base_url=str(client.base_url)) as stranger:
        assert (await stranger.get("/c/fibrodysplasia-ossificans-progressiva")).status_code == 404


async def test_a_taken_slug_gets_a_number(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create_community(db, "fibrodysplasia-ossificans-progressiva", "FOP (old)", status="declined")
    await create_user(db, "proposer")
    await login(client, "proposer")
    assert (await _propose(client)).status_code == 303
    assert await db.fetchval("SELECT slug FROM communities WHERE status = 'proposed'") == (
        "fibrodysplasia-ossificans-progressiva-2"
    )


@pytest.mark.parametrize(("field", "value"), [("name", ""), ("description", ""), ("reason", "  ")])
async def test_a_proposal_with_a_missing_field_keeps_what_was_typed(
    client: httpx.AsyncClient, db: asyncpg.Connection, field: str, value: str
) -> None:
    await create_user(db, "proposer")
    await login(client, "proposer")
    response = await _propose(client, **{field: value})
    assert response.status_code == 400
    assert f'id="f-{field}-error"' in response.text and "FOP, Stone man syndrome" in response.text
    assert await db.fetchval("SELECT count(*) FROM communities") == 0


async def test_proposing_an_existing_community_says_so(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create_community(db, "fop", "Fibrodysplasia Ossificans Progressiva")
    await create_user(db, "proposer")
    await login(client, "proposer")
    response = await _propose(client)
    assert response.status_code == 409 and "already exists" in response.text


async def test_anonymous_visitors_are_asked_to_log_in_and_cannot_propose(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    page = await client.get("/communities/new")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fcommunities%2Fnew"
    token = await csrf_token(client)
    response = await client.post("/communities/new", data={**_fields(), "csrf_token": token})
    assert response.status_code == 401
    assert await db.fetchval("SELECT count(*) FROM communities") == 0


async def test_an_admin_approves_and_the_proposer_becomes_leader_with_the_button(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_user(db, "proposer")
    await create_user(db, "siteadmin", admin=True)
    await login(client, "proposer")
    await _propose(client)
    proposal_id = await db.fetchval("SELECT id FROM community_proposals")
    async with httpx.AsyncClient(base_url=str(client.base_url)) as admin:
        token = await login(admin, "siteadmin")
        queue = await admin.get("/admin/proposals")
        assert queue.status_code == 200 and page_problems(queue.text) == []
        assert "Families in three countries asked." in queue.text and "Proposed by proposer" in queue.text
        decided = await admin.post(
            f"/admin/proposals/{proposal_id}/decision", data={"decision": "approve", "reason": "", "csrf_token": token}
        )
        assert decided.status_code == 303
    assert await db.fetchval("SELECT status FROM communities") == "active"
    assert await db.fetchval("SELECT count(*) FROM rooms WHERE slug = 'main' AND is_main") == 1
    assert await db.fetchval("SELECT data->>'status' FROM notifications WHERE kind = 'proposal'") == "approved"
    mine = await client.get("/communities/new")
    assert "Approved" in mine.text and "Become a leader of this community" in mine.text
    community = await client.get("/c/fibrodysplasia-ossificans-progressiva")
    assert "Become a leader of this community" in community.text
    token = await csrf_token(client, "/communities/new")
    accepted = await client.post("/c/fibrodysplasia-ossificans-progressiva/leadership", data={"csrf_token": token})
    assert accepted.status_code == 303
    assert await db.fetchval("SELECT role FROM memberships") == "leader"
    after = await client.get(accepted.headers["location"])
    assert "You are now a leader of this community." in after.text
    assert "Become a leader of this community" not in after.text and '<span class="badge">Leader</span>' in after.text


async def test_a_declined_proposal_shows_its_reason_to_the_proposer(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_user(db, "proposer")
    await create_user(db, "siteadmin", admin=True)
    await login(client, "proposer")
    await _propose(client)
    proposal_id = await db.fetchval("SELECT id FROM community_proposals")
    async with httpx.AsyncClient(base_url=str(client.base_url)) as admin:
        token = await login(admin, "siteadmin")
        no_reason = await admin.post(
            f"/admin/proposals/{proposal_id}/decision", data={"decision": "decline", "reason": "", "csrf_token": token}
        )
        assert no_reason.status_code == 400 and "Please give a reason for declining" in no_reason.text
        assert page_problems(no_reason.text) == []
        declined = await admin.post(
            f"/admin/proposals/{proposal_id}/decision",
            data={"decision": "decline", "reason": "Please join the FOP group instead.", "csrf_token": token},
        )
        assert declined.status_code == 303
    mine = await client.get("/communities/new")
    assert "Declined" in mine.text and "Please join the FOP group instead." in mine.text
    assert "Become a leader" not in mine.text
    note = await db.fetchval("SELECT data FROM notifications WHERE kind = 'proposal'")
    assert note["status"] == "declined" and note["reason"] == "Please join the FOP group instead."
    assert note["community"] == "Fibrodysplasia Ossificans Progressiva"


@pytest.mark.parametrize("role", [None, "proposer", "member", "leader"])
async def test_only_site_admins_see_and_decide_proposals(
    client: httpx.AsyncClient, db: asyncpg.Connection, role: str | None
) -> None:
    proposer = await create_user(db, "proposer")
    await create_user(db, "member")
    leader = await create_user(db, "leader")
    other = await create_community(db, "other", "Other")
    await db.execute("INSERT INTO memberships (community_id, user_id, role) VALUES ($1, $2, 'leader')", other, leader)
    community = await create_community(db, "proposed", "Proposed", status="proposed")
    proposal_id = await db.fetchval(
        "INSERT INTO community_proposals (community_id, proposer_id, reason) VALUES ($1, $2, 'x') RETURNING id",
        community,
        proposer,
    )
    if role is not None:
        await login(client, role)
    token = await csrf_token(client)
    if role is not None:
        assert (await client.get("/admin/proposals")).status_code == 403
    before = await table_rows(db, "communities", "community_proposals", "rooms", "notifications", "memberships")
    response = await client.post(
        f"/admin/proposals/{proposal_id}/decision", data={"decision": "approve", "reason": "", "csrf_token": token}
    )
    assert response.status_code == (401 if role is None else 403)
    leadership = await client.post("/c/proposed/leadership", data={"csrf_token": token})
    assert leadership.status_code in {401, 403, 404}
    assert await table_rows(db, "communities", "community_proposals", "rooms", "notifications", "memberships") == before


# --- Starting a community from the catalogue (issue 14, point 3) ----------------------------------


async def test_without_javascript_the_catalogue_search_lists_conditions_to_choose(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    from tests.factories import load_catalogue

    await load_catalogue(db, {"ORPHA:98913", "OMIM:254300", "ORPHA:33069"})
    await create_user(db, "proposer")
    await login(client, "proposer")
    page = await client.get("/communities/new", params={"find": "DOK7"})
    assert page.status_code == 200 and page_problems(page.text) == []
    assert "Postsynaptic congenital myasthenic syndromes" in page.text
    assert 'href="/communities/new?code=ORPHA%3A98913"' in page.text
    assert "2 conditions found" in page.text
    assert 'data-typeahead="/api/v1/catalogue"' in page.text and "/static/js/typeahead.js" in page.text


async def test_a_chosen_condition_is_proposed_with_its_code_and_shown_as_catalogue_data(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    from tests.factories import load_catalogue

    await load_catalogue(db, {"ORPHA:98913"})
    await create_user(db, "proposer")
    await login(client, "proposer")
    chosen = await client.get("/communities/new", params={"code": "ORPHA:98913"})
    assert chosen.status_code == 200 and page_problems(chosen.text) == []
    assert 'name="codes" value="ORPHA:98913"' in chosen.text
    assert 'value="Postsynaptic congenital myasthenic syndromes"' in chosen.text  # the name, ready to edit
    assert "Catalogue data" in chosen.text and "DOK7" in chosen.text
    assert "Human Phenotype Ontology (version 2025-01-16)" in chosen.text
    # A name typed on the home page comes with its catalogue search already run.
    carried = await client.get("/communities/new", params={"name": "dok7", "find": "dok7"})
    assert 'href="/communities/new?code=ORPHA%3A98913"' in carried.text
    token = await csrf_token(client, "/communities/new")
    response = await client.post(
        "/communities/new",
        data={**_fields(name="Postsynaptic CMS", synonyms=""), "codes": "ORPHA:98913", "csrf_token": token},
    )
    assert response.status_code == 303
    community = await db.fetchrow("SELECT id, slug, synonyms FROM communities")
    assert community is not None and community["synonyms"] == ["Postsynaptic congenital myasthenic syndromes"]
    assert await db.fetchval("SELECT code FROM community_conditions WHERE community_id = $1", community["id"]) == (
        "ORPHA:98913"
    )
    await create_user(db, "siteadmin", admin=True)
    async with httpx.AsyncClient(base_url=str(client.base_url)) as admin:
        await login(admin, "siteadmin")
        listed = await admin.get("/admin/proposals")
        assert "Catalogue conditions: ORPHA:98913" in listed.text and "DOK7" in listed.text
    page = await client.get(f"/c/{community['slug']}")
    assert "From the rare-disease catalogue" in page.text and "Catalogue data" in page.text
    assert 'href="https://www.orpha.net/en/disease/detail/98913"' in page.text
    assert "Ptosis" in page.text and "frequent (30–79%)" in page.text
    assert page_problems(page.text) == []


async def test_choosing_a_covered_condition_points_to_its_community(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    from server.actions import catalogue
    from tests.factories import load_catalogue

    await load_catalogue(db, {"ORPHA:98913"})
    cms = await create_community(db, "cms", "Congenital Myasthenic Syndromes")
    await catalogue.link_conditions(db, cms, ["ORPHA:98913"])
    await create_user(db, "proposer")
    await login(client, "proposer")
    chosen = await client.get("/communities/new", params={"code": "ORPHA:98913"})
    assert "This condition already has a community:" in chosen.text and 'href="/c/cms"' in chosen.text
    assert 'action="/communities/new" novalidate' not in chosen.text  # no form to propose it again
    found = await client.get("/communities/new", params={"find": "ORPHA:98913"})
    assert 'href="/c/cms"' in found.text and "Already has a community: Congenital Myasthenic Syndromes" in found.text
    # Sent anyway (an old page): refused, with the community named, and nothing created.
    response = await _propose(client, codes="ORPHA:98913", name="CMS again")
    assert response.status_code == 409
    assert "already has a community: Congenital Myasthenic Syndromes" in response.text
    assert 'href="/c/cms"' in response.text
    assert await db.fetchval("SELECT count(*) FROM community_proposals") == 0


async def test_an_unknown_code_in_the_address_is_a_clear_message(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_user(db, "proposer")
    await login(client, "proposer")
    page = await client.get("/communities/new", params={"code": "ORPHA:1"})
    assert page.status_code == 404 and "no condition with the code ORPHA:1" in page.text
    assert 'action="/communities/new" novalidate' in page.text  # the free-text form is still there

"""Community pages over HTTP: the directory, the condition page, joining and leaving, leaders."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.factories import create_cast, create_community, create_user, csrf_token, login, table_rows
from tests.test_templates import page_problems


async def _as(client: httpx.AsyncClient, role: str | None) -> str:
    """Sign in as the cast member `role` (None: stay anonymous); returns a CSRF token for forms."""
    if role is not None:
        await login(client, "siteadmin" if role == "admin" else role)
    return await csrf_token(client, "/login")


async def test_the_home_page_lists_communities_with_members_and_latest_activity(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_community(db, "dravet-syndrome", "Dravet Syndrome", synonyms=["SMEI"], member_count=12)
    await create_community(db, "secret", "Proposed Secret", status="proposed")
    page = await client.get("/")
    assert page.status_code == 200
    assert 'href="/c/dravet-syndrome"' in page.text and "12 members" in page.text
    assert "Also known as: SMEI" in page.text and "<time datetime=" in page.text
    assert "Proposed Secret" not in page.text
    assert 'href="/communities/new"' in page.text and "Start a community" in page.text
    assert page_problems(page.text) == []


async def test_the_directory_is_searchable_by_synonym_prefix(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create_community(db, "cms", "Congenital Myasthenic Syndromes", synonyms=["CMS"])
    await create_community(db, "dravet-syndrome", "Dravet Syndrome", synonyms=["SMEI"])
    page = await client.get("/", params={"q": "sme"})
    assert "Dravet Syndrome" in page.text and "Congenital Myasthenic" not in page.text
    assert 'value="sme"' in page.text
    nothing = await client.get("/", params={"q": "zzzz"})
    assert "No community matches your search." in nothing.text
    assert 'href="/communities/new?name=zzzz&amp;find=zzzz"' in nothing.text


@pytest.mark.parametrize("query", ["'", "a & | !", "x:*", "(", "\\", "%", "a" * 500, "é" * 3, "1 2 3 4 5 6 7 8 9 10"])
async def test_odd_searches_never_fail(client: httpx.AsyncClient, db: asyncpg.Connection, query: str) -> None:
    await create_community(db)
    response = await client.get("/", params={"q": query, "page": "abc"})
    assert response.status_code == 200


async def test_the_directory_is_paginated_and_keeps_the_search(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    for number in range(25):
        await create_community(db, f"rare-{number}", f"Rare Condition {number}")
    first = await client.get("/", params={"q": "rare"})
    assert "Page 1 of 2" in first.text and 'href="/?q=rare&amp;page=2"' in first.text
    second = await client.get("/", params={"q": "rare", "page": "2"})
    assert second.text.count('class="directory-item"') == 5 and 'href="/?q=rare&amp;page=1"' in second.text


async def test_the_community_page_shows_sections_in_order_and_says_which_are_missing(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    community = await create_community(db, "cms", "Congenital Myasthenic Syndromes")
    await db.execute(
        "INSERT INTO condition_sections (community_id, section, body_md) VALUES ($1, 'causes', 'Genes: **CHRNE**'), "
        "($1, 'what_is_it', '# Big title\n\n<script>alert(1)</script> [x](javascript:alert(1)) https://example.org')",
        community,
    )
    page = await client.get("/c/cms")
    assert page.status_code == 200
    titles = ["What is it", "Causes", "Symptoms", "Diagnosis", "Diagnostic tests", "Treatments", "Prognosis",
              "Synonyms", "Acknowledgement", "References"]  # fmt: skip
    positions = [page.text.index(f">{title}</h3>") for title in titles]
    assert positions == sorted(positions)
    assert "Genes: <strong>CHRNE</strong>" in page.text
    assert "Symptoms has not been added yet." in page.text and "Causes has not been added yet." not in page.text
    assert "<script>alert" not in page.text and 'href="javascript:' not in page.text
    assert '<a href="https://example.org" rel="nofollow ugc noopener">' in page.text
    assert "<h4>Big title</h4>" in page.text  # a member's heading never becomes a second h1
    assert page_problems(page.text) == []


async def test_an_unknown_community_is_a_404_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/c/no-such-condition")
    assert response.status_code == 404 and "Page not found" in response.text


@pytest.mark.parametrize("status", ["proposed", "declined"])
async def test_a_proposed_or_declined_community_is_a_404_except_for_admins_and_the_proposer(
    client: httpx.AsyncClient, db: asyncpg.Connection, status: str
) -> None:
    community = await create_community(db, "maybe", "Maybe Condition", status=status)
    proposer = await create_user(db, "proposer")
    await create_user(db, "stranger")
    await create_user(db, "siteadmin", admin=True)
    await db.execute(
        "INSERT INTO community_proposals (community_id, proposer_id, reason) VALUES ($1, $2, 'x')", community, proposer
    )
    assert (await client.get("/c/maybe")).status_code == 404
    await login(client, "stranger")
    assert (await client.get("/c/maybe")).status_code == 404
    assert (await client.get("/c/maybe/resources")).status_code == 404
    await login(client, "proposer")
    assert (await client.get("/c/maybe")).status_code == 200
    await login(client, "siteadmin")
    assert "Maybe Condition" in (await client.get("/c/maybe")).text


async def test_joining_leads_back_to_the_community_with_an_invitation_to_introduce_oneself(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    community = await create_community(db, "cms", "Congenital Myasthenic Syndromes")
    await create_user(db, "maria")
    token = await login(client, "maria")
    page = await client.get("/c/cms")
    assert 'action="/c/cms/join"' in page.text and "0 members" in page.text
    joined = await client.post("/c/cms/join", data={"csrf_token": token})
    assert joined.status_code == 303 and joined.headers["location"] == "/c/cms?notice=joined"
    welcome = await client.get(joined.headers["location"])
    assert 'href="/c/cms/introductions/new"' in welcome.text and "1 member" in welcome.text
    assert 'action="/c/cms/leave"' in welcome.text
    left = await client.post("/c/cms/leave", data={"csrf_token": token})
    assert left.status_code == 303
    assert await db.fetchval("SELECT member_count FROM communities WHERE id = $1", community) == 0
    assert "You have left this community." in (await client.get(left.headers["location"])).text


async def test_anonymous_visitors_are_asked_to_log_in_and_cannot_join(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_community(db, "cms", "CMS")
    page = await client.get("/c/cms")
    assert 'href="/login?next=/c/cms"' in page.text and 'action="/c/cms/join"' not in page.text
    token = await csrf_token(client)
    assert (await client.post("/c/cms/join", data={"csrf_token": token})).status_code == 401
    assert await db.fetchval("SELECT count(*) FROM memberships") == 0


async def test_joining_without_the_csrf_token_is_refused(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create_community(db, "cms", "CMS")
    await create_user(db, "maria")
    await login(client, "maria")
    assert (await client.post("/c/cms/join", data={})).status_code == 403
    assert (await client.post("/c/cms/join", data={"csrf_token": "x" * 43})).status_code == 403
    assert await db.fetchval("SELECT count(*) FROM memberships") == 0


async def test_a_banned_member_cannot_join_again(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    await db.execute("DELETE FROM memberships WHERE user_id = $1", cast["banned"])
    token = await _as(client, "banned")
    before = await table_rows(db, "memberships")
    response = await client.post("/c/test-condition/join", data={"csrf_token": token})
    assert response.status_code == 403 and "removed from this community" in response.text
    assert await table_rows(db, "memberships") == before


async def test_leaders_are_listed_with_a_badge(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create_cast(db)
    page = await client.get("/c/test-condition")
    assert '<a href="/u/leader">Leader</a> <span class="badge">Leader</span>' in page.text
    assert 'href="/u/member"' not in page.text


async def test_a_site_admin_appoints_and_removes_a_leader_with_forms(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    token = await _as(client, "admin")
    page = await client.get("/c/test-condition")
    assert 'action="/c/test-condition/leaders"' in page.text
    appointed = await client.post("/c/test-condition/leaders", data={"username": "member", "csrf_token": token})
    assert appointed.status_code == 303
    role = "SELECT role FROM memberships WHERE community_id = $1 AND user_id = $2"
    assert await db.fetchval(role, cast["community"], cast["member"]) == "leader"
    removed = await client.post("/c/test-condition/leaders/member/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    assert await db.fetchval(role, cast["community"], cast["member"]) == "member"


async def test_appointing_an_unknown_member_keeps_what_was_typed(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    token = await _as(client, "admin")
    response = await client.post("/c/test-condition/leaders", data={"username": "nobody-x", "csrf_token": token})
    assert response.status_code == 404
    assert "There is no member called nobody-x." in response.text and 'value="nobody-x"' in response.text
    assert 'aria-describedby="f-username-error' in response.text


@pytest.mark.parametrize("role", [None, "member", "leader", "other_leader", "banned"])
async def test_only_site_admins_appoint_or_remove_leaders(
    client: httpx.AsyncClient, db: asyncpg.Connection, role: str | None
) -> None:
    await create_cast(db)
    token = await _as(client, role)
    page = await client.get("/c/test-condition")
    assert 'action="/c/test-condition/leaders"' not in page.text
    before = await table_rows(db, "memberships", "moderation_actions")
    appoint = await client.post("/c/test-condition/leaders", data={"username": "outsider", "csrf_token": token})
    remove = await client.post("/c/test-condition/leaders/leader/remove", data={"csrf_token": token})
    expected = 401 if role is None else 403
    assert appoint.status_code == remove.status_code == expected
    assert await table_rows(db, "memberships", "moderation_actions") == before


@pytest.mark.parametrize(
    "path",
    [
        "/c/test-condition/join",
        "/c/test-condition/leave",
        "/c/test-condition/leaders",
        "/c/test-condition/leaders/leader/remove",
        "/c/test-condition/leadership",
        "/c/test-condition/sections/causes/edit",
        "/c/test-condition/resources/new",
        "/c/test-condition/tips",
        "/communities/new",
    ],
)
async def test_every_form_is_refused_without_its_csrf_token(
    client: httpx.AsyncClient, db: asyncpg.Connection, path: str
) -> None:
    await create_cast(db)
    await _as(client, "admin")
    tables = ("memberships", "condition_sections", "section_revisions", "resources", "tips", "communities")
    before = await table_rows(db, *tables)
    data = {"username": "member", "body": "x", "kind": "other", "title": "T", "url": "https://e.org", "name": "Name"}
    response = await client.post(path, data={**data, "description": "D", "reason": "R"})
    assert response.status_code == 403
    assert await table_rows(db, *tables) == before


# --- The directory searches the catalogue (issue 14, point 2) -------------------------------------


async def _demo(db: asyncpg.Connection) -> None:
    from server.demo import CMS_CODES, OTHER_CODES, load_demo_data
    from tests.factories import load_catalogue

    await load_catalogue(db, set(CMS_CODES) | {c for codes in OTHER_CODES.values() for c in codes} | {"ORPHA:79414"})
    await load_demo_data(db)


async def test_the_directory_page_finds_cms_by_gene_and_says_which_typo_it_read(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await _demo(db)
    by_gene = await client.get("/", params={"q": "DOK7"})
    assert 'href="/c/congenital-myasthenic-syndromes"' in by_gene.text and "1 community" in by_gene.text
    typo = await client.get("/", params={"q": "myastenic"})
    assert 'href="/c/congenital-myasthenic-syndromes"' in typo.text
    assert "Also searched for: myasthenic" in typo.text
    assert page_problems(typo.text) == []


async def test_a_catalogue_condition_with_no_community_is_offered_to_start_one(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await _demo(db)
    page = await client.get("/", params={"q": "woolly hair"})
    assert "In the catalogue, with no community yet" in page.text and "Woolly hair nevus" in page.text
    assert 'href="/communities/new?code=ORPHA%3A79414"' in page.text
    assert page_problems(page.text) == []


async def test_the_community_page_starts_with_catalogue_facts_marked_as_such(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await _demo(db)
    page = await client.get("/c/congenital-myasthenic-syndromes")
    assert "From the rare-disease catalogue" in page.text and "Catalogue data" in page.text
    assert "not written by members of this community" in page.text
    assert "DOK7" in page.text and 'href="https://omim.org/entry/254300"' in page.text
    assert page.text.index('id="catalogue"') < page.text.index('id="section-what_is_it"')
    assert "This service is using the Human Phenotype Ontology (version 2025-01-16)" in page.text

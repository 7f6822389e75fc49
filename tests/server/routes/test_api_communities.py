"""The communities JSON API: the same actions and permission rules as the pages, JSON errors, OpenAPI."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.factories import create_cast, create_community, create_user, login, table_rows

API = "/api/v1/communities/test-condition"


async def _as(client: httpx.AsyncClient, role: str | None) -> dict[str, str]:
    """Sign in as `role` (None: anonymous); returns the headers an API client sends on unsafe requests."""
    if role is not None:
        await login(client, "siteadmin" if role == "admin" else role)
    session = (await client.get("/api/v1/session")).json()
    return {"X-CSRF-Token": session["csrf_token"]}


async def test_the_directory_is_searchable_and_paginated(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    for number in range(22):
        await create_community(db, f"rare-{number}", f"Rare Condition {number}", synonyms=[f"RC{number}"])
    await create_community(db, "hidden", "Rare Hidden", status="proposed")
    first = (await client.get("/api/v1/communities", params={"q": "rare"})).json()
    assert (first["total"], first["pages"], len(first["communities"])) == (22, 2, 20)
    second = (await client.get("/api/v1/communities", params={"q": "rare", "page": 2})).json()
    assert len(second["communities"]) == 2
    by_synonym = (await client.get("/api/v1/communities", params={"q": "rc7"})).json()
    assert [c["slug"] for c in by_synonym["communities"]] == ["rare-7"]
    assert by_synonym["communities"][0]["url"] == "/c/rare-7"


async def test_a_community_has_its_sections_in_order_leaders_and_my_membership(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await db.execute(
        "INSERT INTO condition_sections (community_id, section, body_md) VALUES ($1, 'causes', '**Genes**')",
        cast["community"],
    )
    await _as(client, "member")
    body = (await client.get(API)).json()
    assert [s["section"] for s in body["sections"]][:3] == ["what_is_it", "causes", "symptoms"]
    causes = body["sections"][1]
    assert causes["html"] == "<p><strong>Genes</strong></p>\n" and causes["title"] == "Causes"
    assert body["sections"][0]["body_md"] == "" and body["sections"][0]["updated_at"] is None
    assert body["leaders"] == [{"username": "leader", "display_name": "Leader"}]
    assert body["me"] == {"signed_in": True, "member": True, "role": "member", "banned": False, "can_moderate": False}
    missing = await client.get("/api/v1/communities/nope")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


async def test_join_and_leave_through_the_api(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create_cast(db)
    headers = await _as(client, "outsider")
    joined = await client.post(API + "/membership", headers=headers)
    assert joined.status_code == 200
    assert joined.json() == {"member": True, "role": "member", "member_count": 5}
    left = await client.delete(API + "/membership", headers=headers)
    assert left.json() == {"member": False, "role": None, "member_count": 4}


async def test_unsafe_requests_without_the_csrf_header_are_refused(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    await _as(client, "outsider")
    response = await client.post(API + "/membership")
    assert response.status_code == 403 and response.json()["error"] == "csrf_failed"
    assert await db.fetchval("SELECT count(*) FROM memberships") == 5


async def test_a_leader_edits_a_section_and_the_revision_is_listed(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    headers = await _as(client, "leader")
    saved = await client.put(
        API + "/sections/causes", json={"body_md": "Changes in *CHRNE*", "summary": "genes"}, headers=headers
    )
    assert saved.status_code == 200 and saved.json()["html"] == "<p>Changes in <em>CHRNE</em></p>\n"
    assert (await client.get(API + "/sections/causes")).json()["body_md"] == "Changes in *CHRNE*"
    revisions = (await client.get(API + "/sections/causes/revisions")).json()["revisions"]
    assert [(r["body_md"], r["summary"], r["author_username"]) for r in revisions] == [
        ("Changes in *CHRNE*", "genes", "leader")
    ]
    unknown = await client.put(API + "/sections/gossip", json={"body_md": "x"}, headers=headers)
    assert unknown.status_code == 404
    too_long = await client.put(API + "/sections/causes", json={"body_md": "x" * 50_001}, headers=headers)
    assert too_long.status_code == 400 and too_long.json()["error"] == "bad_request"
    wrong_shape = await client.put(API + "/sections/causes", json={"text": "x"}, headers=headers)
    assert wrong_shape.status_code == 400


async def test_resources_are_added_changed_filtered_and_removed(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    headers = await _as(client, "leader")
    new = {"kind": "registry", "title": "Registry", "url": "https://example.org/r", "published_on": "2024-03-01"}
    created = await client.post(API + "/resources", json=new, headers=headers)
    assert created.status_code == 201
    resource = created.json()
    assert resource["kind_label"] == "Patient registry" and resource["published_on"] == "2024-03-01"
    bad_link = await client.post(API + "/resources", json={**new, "url": "javascript:alert(1)"}, headers=headers)
    assert bad_link.status_code == 400 and "https://" in bad_link.json()["message"]
    changed = await client.patch(f"{API}/resources/{resource['id']}", json={"title": "Renamed"}, headers=headers)
    assert changed.json()["title"] == "Renamed" and changed.json()["url"] == "https://example.org/r"
    assert (await client.get(API + "/resources", params={"kind": "podcast"})).json()["resources"] == []
    assert len((await client.get(API + "/resources", params={"kind": "registry"})).json()["resources"]) == 1
    removed = await client.delete(f"{API}/resources/{resource['id']}", headers=headers)
    assert removed.status_code == 204
    assert (await client.get(API + "/resources")).json()["resources"] == []
    assert (await client.delete(f"{API}/resources/{resource['id']}", headers=headers)).status_code == 404


async def test_tips_are_shared_hidden_and_shown_again(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create_cast(db)
    member_headers = await _as(client, "member")
    created = await client.post(
        API + "/tips", json={"name": "Rest", "description": "Before meals."}, headers=member_headers
    )
    assert created.status_code == 201
    tip_id = created.json()["id"]
    async with httpx.AsyncClient(base_url=str(client.base_url)) as leader:
        headers = await _as(leader, "leader")
        hidden = await leader.post(f"{API}/tips/{tip_id}/hide", headers=headers)
        assert hidden.status_code == 200 and hidden.json()["hidden"] is True
        assert [t["id"] for t in (await leader.get(API + "/tips")).json()["tips"]] == [tip_id]
        assert (await client.get(API + "/tips")).json()["tips"] == []
        shown = await leader.post(f"{API}/tips/{tip_id}/hide", json={"hidden": False}, headers=headers)
        assert shown.json()["hidden"] is False
    assert len((await client.get(API + "/tips")).json()["tips"]) == 1


async def test_a_proposal_is_made_decided_and_led_through_the_api(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_user(db, "proposer")
    await create_user(db, "siteadmin", admin=True)
    headers = await _as(client, "proposer")
    proposal = {"name": "Rare Thing", "synonyms": ["RT", "rt"], "description": "Rare.", "reason": "Needed."}
    created = await client.post("/api/v1/proposals", json=proposal, headers=headers)
    assert created.status_code == 201
    body = created.json()
    assert (body["slug"], body["status"], body["synonyms"]) == ("rare-thing", "pending", ["RT"])
    assert (await client.get("/api/v1/proposals")).status_code == 403
    async with httpx.AsyncClient(base_url=str(client.base_url)) as admin:
        admin_headers = await _as(admin, "admin")
        listed = (await admin.get("/api/v1/proposals")).json()["proposals"]
        assert [p["id"] for p in listed] == [body["id"]]
        bad = await admin.post(
            f"/api/v1/proposals/{body['id']}/decision", json={"decision": "maybe"}, headers=admin_headers
        )
        assert bad.status_code == 400
        decided = await admin.post(
            f"/api/v1/proposals/{body['id']}/decision", json={"decision": "approve"}, headers=admin_headers
        )
        assert decided.json()["status"] == "approved"
    assert (await client.get("/api/v1/communities/rare-thing")).json()["leadership_offer"] is True
    led = await client.post("/api/v1/communities/rare-thing/leadership", headers=headers)
    assert led.json() == {"member": True, "role": "leader", "member_count": 1}


async def test_admins_appoint_and_remove_leaders_through_the_api(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    headers = await _as(client, "admin")
    appointed = await client.put(API + "/leaders/member", headers=headers)
    assert appointed.json() == {"username": "member", "display_name": "Member"}
    assert (await client.delete(API + "/leaders/member", headers=headers)).status_code == 204
    assert (await client.put(API + "/leaders/nobody-x", headers=headers)).status_code == 404


@pytest.mark.parametrize("role", [None, "member", "other_leader", "banned"])
async def test_the_api_refuses_what_the_pages_refuse_and_changes_nothing(
    client: httpx.AsyncClient, db: asyncpg.Connection, role: str | None
) -> None:
    cast = await create_cast(db)
    tip_id = await db.fetchval(
        "INSERT INTO tips (community_id, author_id, name, description) VALUES ($1, $2, 'T', 'D') RETURNING id",
        cast["community"],
        cast["member"],
    )
    resource_id = await db.fetchval(
        "INSERT INTO resources (community_id, kind, title, url) VALUES ($1, 'other', 'R', 'https://e.org') RETURNING id",
        cast["community"],
    )
    proposal_community = await create_community(db, "proposed", "Proposed", status="proposed")
    proposal_id = await db.fetchval(
        "INSERT INTO community_proposals (community_id, proposer_id, reason) VALUES ($1, $2, 'x') RETURNING id",
        proposal_community,
        cast["outsider"],
    )
    headers = await _as(client, role)
    tables = ("condition_sections", "section_revisions", "resources", "tips", "memberships", "communities",
              "community_proposals", "moderation_actions", "notifications", "rooms")  # fmt: skip
    before = await table_rows(db, *tables)
    attempts = [
        client.put(API + "/sections/causes", json={"body_md": "x"}, headers=headers),
        client.post(API + "/resources", json={"kind": "other", "title": "R", "url": "https://e.org"}, headers=headers),
        client.patch(f"{API}/resources/{resource_id}", json={"title": "Changed"}, headers=headers),
        client.delete(f"{API}/resources/{resource_id}", headers=headers),
        client.post(f"{API}/tips/{tip_id}/hide", headers=headers),
        client.put(API + "/leaders/outsider", headers=headers),
        client.delete(API + "/leaders/leader", headers=headers),
        client.post(f"/api/v1/proposals/{proposal_id}/decision", json={"decision": "approve"}, headers=headers),
        client.get("/api/v1/proposals"),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == (401 if role is None else 403), response.request.url
        assert set(response.json()) == {"error", "message"}
    if role == "banned":
        tip = await client.post(API + "/tips", json={"name": "T", "description": "D"}, headers=headers)
        assert tip.status_code == 403 and tip.json()["error"] == "banned"
    assert await table_rows(db, *tables) == before


async def test_every_communities_endpoint_is_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
    expected = {
        "/api/v1/communities": {"get"},
        "/api/v1/communities/{slug}": {"get"},
        "/api/v1/communities/{slug}/sections/{section}": {"get", "put"},
        "/api/v1/communities/{slug}/sections/{section}/revisions": {"get"},
        "/api/v1/communities/{slug}/resources": {"get", "post"},
        "/api/v1/communities/{slug}/resources/{resource_id}": {"patch", "delete"},
        "/api/v1/communities/{slug}/tips": {"get", "post"},
        "/api/v1/communities/{slug}/tips/{tip_id}/hide": {"post"},
        "/api/v1/communities/{slug}/membership": {"post", "delete"},
        "/api/v1/communities/{slug}/leaders/{username}": {"put", "delete"},
        "/api/v1/proposals": {"get", "post"},
        "/api/v1/proposals/{proposal_id}/decision": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path

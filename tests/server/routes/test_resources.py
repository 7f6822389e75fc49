"""Resources over HTTP: listing and filtering, the leaders' forms, safe links, and who is refused."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.factories import create_cast, csrf_token, login, table_rows
from tests.test_templates import page_problems

BASE = "/c/test-condition/resources"


async def _as(client: httpx.AsyncClient, role: str | None) -> str:
    if role is not None:
        await login(client, "siteadmin" if role == "admin" else role)
    return await csrf_token(client, "/login")


def _fields(**changes: str) -> dict[str, str]:
    fields = {
        "kind": "registry",
        "title": "CMS registry",
        "description": "Record your diagnosis.",
        "url": "https://www.example.org/registry",
        "published_on": "2024-03-01",
    }
    fields.update(changes)
    return fields


async def _add(db: asyncpg.Connection, community_id: int, title: str, kind: str = "other") -> int:
    resource_id = await db.fetchval(
        "INSERT INTO resources (community_id, kind, title, url) VALUES ($1, $2, $3, 'https://example.org') RETURNING id",
        community_id,
        kind,
        title,
    )
    return int(resource_id)


async def test_a_leader_adds_edits_and_removes_a_resource(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create_cast(db)
    token = await _as(client, "leader")
    form = await client.get(BASE + "/new")
    assert form.status_code == 200 and page_problems(form.text) == []
    added = await client.post(BASE + "/new", data={**_fields(), "csrf_token": token})
    assert added.status_code == 303
    listing = await client.get(BASE)
    assert '<a href="https://www.example.org/registry" rel="nofollow ugc noopener">CMS registry</a>' in listing.text
    assert "Patient registry" in listing.text and "2024-03-01" in listing.text
    resource_id = await db.fetchval("SELECT id FROM resources")
    edit_form = await client.get(f"{BASE}/{resource_id}/edit")
    assert 'value="CMS registry"' in edit_form.text and page_problems(edit_form.text) == []
    edited = await client.post(f"{BASE}/{resource_id}/edit", data={**_fields(title="Renamed"), "csrf_token": token})
    assert edited.status_code == 303
    assert await db.fetchval("SELECT title FROM resources") == "Renamed"
    removed = await client.post(f"{BASE}/{resource_id}/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    assert "Renamed" not in (await client.get(BASE)).text
    assert await db.fetchval("SELECT removed_at IS NOT NULL FROM resources") is True


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.org/x", "www.example.org", "data:text/html,x"])
async def test_a_link_that_is_not_http_or_https_gets_a_clear_form_error(
    client: httpx.AsyncClient, db: asyncpg.Connection, url: str
) -> None:
    await create_cast(db)
    token = await _as(client, "leader")
    response = await client.post(BASE + "/new", data={**_fields(url=url), "csrf_token": token})
    assert response.status_code == 400
    assert "Please give a web link starting with https:// or http://." in response.text
    assert 'id="f-url-error"' in response.text and 'value="CMS registry"' in response.text
    assert await db.fetchval("SELECT count(*) FROM resources") == 0


async def test_the_community_page_shows_the_three_newest_and_the_list_filters_by_kind(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    for number, kind in enumerate(["registry", "podcast", "ebook", "registry", "clinical_trial"]):
        await _add(db, cast["community"], f"Resource {number}", kind)
    page = await client.get("/c/test-condition")
    shown = [f"Resource {n}" for n in range(5) if f">Resource {n}</a>" in page.text]
    assert shown == ["Resource 2", "Resource 3", "Resource 4"]
    registries = await client.get(BASE, params={"kind": "registry"})
    assert ">Resource 0</a>" in registries.text and ">Resource 3</a>" in registries.text
    assert ">Resource 1</a>" not in registries.text
    assert '<option value="registry" selected>Patient registry</option>' in registries.text
    assert page_problems(registries.text) == []
    everything = await client.get(BASE, params={"kind": "nonsense"})
    assert everything.status_code == 200 and everything.text.count('class="card"') == 5


@pytest.mark.parametrize("role", [None, "member", "other_leader", "banned", "outsider"])
async def test_no_one_but_leaders_and_admins_manages_resources(
    client: httpx.AsyncClient, db: asyncpg.Connection, role: str | None
) -> None:
    cast = await create_cast(db)
    resource_id = await _add(db, cast["community"], "Existing")
    token = await _as(client, role)
    listing = await client.get(BASE)
    assert "/resources/new" not in listing.text and f"/resources/{resource_id}/edit" not in listing.text
    before = await table_rows(db, "resources")
    expected = 401 if role is None else 403
    for path, data in [
        (BASE + "/new", _fields()),
        (f"{BASE}/{resource_id}/edit", _fields(title="Changed")),
        (f"{BASE}/{resource_id}/remove", {}),
    ]:
        response = await client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == expected, path
    # Bad input from someone refused is still a refusal, not a form error.
    response = await client.post(BASE + "/new", data={**_fields(url="javascript:x"), "csrf_token": token})
    assert response.status_code == expected
    assert await table_rows(db, "resources") == before


async def test_a_leader_of_another_community_cannot_edit_through_their_own(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    resource_id = await _add(db, cast["community"], "Existing")
    token = await _as(client, "other_leader")
    before = await table_rows(db, "resources")
    response = await client.post(
        f"/c/other-condition/resources/{resource_id}/edit", data={**_fields(title="Hijack"), "csrf_token": token}
    )
    assert response.status_code == 404
    assert await table_rows(db, "resources") == before

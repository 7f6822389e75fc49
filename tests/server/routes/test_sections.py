"""Editing condition sections over HTTP: the form, its errors, the history page, and who is refused."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.factories import create_cast, csrf_token, login, table_rows
from tests.test_templates import page_problems

EDIT = "/c/test-condition/sections/causes/edit"


async def _as(client: httpx.AsyncClient, role: str | None) -> str:
    if role is not None:
        await login(client, "siteadmin" if role == "admin" else role)
    return await csrf_token(client, "/login")


@pytest.mark.parametrize("role", ["leader", "admin"])
async def test_a_leader_or_admin_edits_a_section_and_the_history_shows_who_when_and_what(
    client: httpx.AsyncClient, db: asyncpg.Connection, role: str
) -> None:
    await create_cast(db)
    token = await _as(client, role)
    community = await client.get("/c/test-condition")
    assert f'href="{EDIT}"' in community.text
    form = await client.get(EDIT)
    assert form.status_code == 200 and page_problems(form.text) == []
    saved = await client.post(
        EDIT, data={"body": "Changes in **CHRNE**.", "summary": "Added genes", "csrf_token": token}
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/c/test-condition?notice=saved#section-causes"
    page = await client.get(saved.headers["location"])
    assert "Changes in <strong>CHRNE</strong>." in page.text and "The section was saved." in page.text
    history = await client.get("/c/test-condition/sections/causes/history")
    assert history.status_code == 200 and page_problems(history.text) == []
    name = "Siteadmin" if role == "admin" else "Leader"
    assert f"Edited by {name}" in history.text and "Added genes" in history.text and "<time datetime=" in history.text
    editing_again = await client.get(EDIT)
    assert "Changes in **CHRNE**." in editing_again.text


async def test_too_long_a_section_re_renders_the_form_with_the_text_kept(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    token = await _as(client, "leader")
    body = "word " * 10_001
    response = await client.post(EDIT, data={"body": body, "summary": "keep me", "csrf_token": token})
    assert response.status_code == 400
    assert "at most 50000 characters" in response.text and 'value="keep me"' in response.text
    assert "word word word" in response.text and 'aria-invalid="true"' in response.text
    assert await db.fetchval("SELECT count(*) FROM section_revisions") == 0


async def test_an_unknown_section_is_not_found(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create_cast(db)
    token = await _as(client, "leader")
    assert (await client.get("/c/test-condition/sections/gossip/edit")).status_code == 404
    assert (await client.get("/c/test-condition/sections/gossip/history")).status_code == 404
    posted = await client.post("/c/test-condition/sections/gossip/edit", data={"body": "x", "csrf_token": token})
    assert posted.status_code == 404
    assert await db.fetchval("SELECT count(*) FROM condition_sections") == 0


async def test_anonymous_visitors_are_sent_to_log_in_from_the_edit_form(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    response = await client.get(EDIT)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fc%2Ftest-condition%2Fsections%2Fcauses%2Fedit"


@pytest.mark.parametrize("role", [None, "member", "other_leader", "banned", "outsider"])
async def test_no_one_but_leaders_and_admins_can_edit_a_section(
    client: httpx.AsyncClient, db: asyncpg.Connection, role: str | None
) -> None:
    await create_cast(db)
    token = await _as(client, role)
    page = await client.get("/c/test-condition")
    assert f'href="{EDIT}"' not in page.text
    if role is not None:
        assert (await client.get(EDIT)).status_code == 403
    before = await table_rows(db, "condition_sections", "section_revisions")
    response = await client.post(EDIT, data={"body": "Vandalism", "summary": "", "csrf_token": token})
    assert response.status_code == (401 if role is None else 403)
    assert await table_rows(db, "condition_sections", "section_revisions") == before

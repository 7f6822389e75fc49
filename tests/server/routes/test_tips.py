"""Tips over HTTP: members share them, leaders hide and unhide them, and who is refused."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.factories import create_cast, csrf_token, login, table_rows
from tests.test_templates import page_problems

TIPS = "/c/test-condition/tips"


async def _as(client: httpx.AsyncClient, role: str | None) -> str:
    if role is not None:
        await login(client, "siteadmin" if role == "admin" else role)
    return await csrf_token(client, "/login")


async def _tip(db: asyncpg.Connection, cast: dict[str, int], name: str, hidden: bool = False) -> int:
    tip_id = await db.fetchval(
        "INSERT INTO tips (community_id, author_id, name, description, hidden) VALUES ($1, $2, $3, 'Some words', $4) RETURNING id",
        cast["community"],
        cast["member"],
        name,
        hidden,
    )
    return int(tip_id)


async def test_a_member_shares_a_tip_shown_on_the_tips_and_community_pages(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    token = await _as(client, "member")
    form = await client.get(TIPS)
    assert 'action="/c/test-condition/tips"' in form.text and page_problems(form.text) == []
    shared = await client.post(
        TIPS, data={"name": "Rest first", "description": "A **short** rest.", "csrf_token": token}
    )
    assert shared.status_code == 303
    listing = await client.get(shared.headers["location"])
    assert "Rest first" in listing.text and "A <strong>short</strong> rest." in listing.text
    assert "Thank you for sharing your tip." in listing.text and "Shared by Member" in listing.text
    assert "Rest first" in (await client.get("/c/test-condition")).text


async def test_a_bad_tip_re_renders_the_form_with_what_was_typed(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    token = await _as(client, "member")
    response = await client.post(TIPS, data={"name": "n" * 121, "description": "Keep this text", "csrf_token": token})
    assert response.status_code == 400
    assert "at most 120 characters" in response.text and "Keep this text" in response.text
    assert await db.fetchval("SELECT count(*) FROM tips") == 0


@pytest.mark.parametrize(
    ("role", "status", "reason"),
    [
        (None, 401, "Log in to share a tip"),
        ("outsider", 403, "Join this community first."),
        ("banned", 403, "You have been removed from this community."),
        ("muted", 403, "You are muted in this community"),
    ],
)
async def test_visitors_non_members_banned_and_muted_members_cannot_add_tips(
    client: httpx.AsyncClient, db: asyncpg.Connection, role: str | None, status: int, reason: str
) -> None:
    await create_cast(db)
    token = await _as(client, role)
    page = await client.get(TIPS)
    assert reason in page.text and 'action="/c/test-condition/tips"' not in page.text
    response = await client.post(TIPS, data={"name": "Tip", "description": "Text", "csrf_token": token})
    assert response.status_code == status
    assert await db.fetchval("SELECT count(*) FROM tips") == 0


async def test_a_leader_hides_a_tip_and_others_no_longer_see_it(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    tip_id = await _tip(db, cast, "Questionable tip")
    token = await _as(client, "leader")
    hidden = await client.post(f"{TIPS}/{tip_id}/hide", data={"csrf_token": token})
    assert hidden.status_code == 303
    leader_view = await client.get(TIPS)
    assert "Questionable tip" in leader_view.text and ">Hidden</span>" in leader_view.text
    assert f'action="/c/test-condition/tips/{tip_id}/unhide"' in leader_view.text
    async with httpx.AsyncClient(base_url=str(client.base_url)) as visitor:
        assert "Questionable tip" not in (await visitor.get(TIPS)).text
        assert "Questionable tip" not in (await visitor.get("/c/test-condition")).text
        await login(visitor, "member")
        assert "Questionable tip" not in (await visitor.get(TIPS)).text
    shown = await client.post(f"{TIPS}/{tip_id}/unhide", data={"csrf_token": token})
    assert shown.status_code == 303
    assert await db.fetchval("SELECT hidden FROM tips WHERE id = $1", tip_id) is False


@pytest.mark.parametrize("role", [None, "member", "other_leader", "banned", "outsider"])
async def test_no_one_but_leaders_and_admins_hides_or_unhides_tips(
    client: httpx.AsyncClient, db: asyncpg.Connection, role: str | None
) -> None:
    cast = await create_cast(db)
    visible = await _tip(db, cast, "Visible tip")
    hidden = await _tip(db, cast, "Hidden tip", hidden=True)
    token = await _as(client, role)
    page = await client.get(TIPS)
    assert "Hidden tip" not in page.text and "/hide" not in page.text
    before = await table_rows(db, "tips")
    expected = 401 if role is None else 403
    assert (await client.post(f"{TIPS}/{visible}/hide", data={"csrf_token": token})).status_code == expected
    assert (await client.post(f"{TIPS}/{hidden}/unhide", data={"csrf_token": token})).status_code == expected
    assert await table_rows(db, "tips") == before


async def test_a_muted_members_refused_tip_keeps_its_draft_like_a_refused_reply(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    # One rule decides what goes back into a form (server.errors.returns_to_form): the reason, next to the words.
    await create_cast(db)
    token = await _as(client, "muted")
    response = await client.post(
        TIPS, data={"name": "Warm baths", "description": "They calm the cramps at night.", "csrf_token": token}
    )
    assert response.status_code == 403
    assert "You are muted in this community" in response.text
    assert "Warm baths" in response.text and "They calm the cramps at night." in response.text
    assert await db.fetchval("SELECT count(*) FROM tips") == 0

"""First-connection introductions over HTTP: the guided form, who is told, welcomes, and the 'waiting' list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from tests.factories import create_cast, create_post, create_thread, csrf_from, login, table_rows
from tests.test_templates import page_problems

SLUG = "test-condition"


async def test_the_guided_form_posts_an_introduction_thread_in_plain_words(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    token = await login(client, "member")
    form = await client.get(f"/c/{SLUG}/introductions/new")
    assert form.status_code == 200 and page_problems(form.text) == []
    fields = {
        "for_whom": "someone",
        "cares_for": "my daughter",
        "age_at_onset": "at birth",
        "diagnosis": "CMS, CHRNE",
        "treatments": "pyridostigmine",
        "hopes": "other parents to talk with",
        "language": "Spanish or English",
        "free_text": "Evenings are the hardest.",
    }
    response = await client.post(f"/c/{SLUG}/introductions/new", data={**fields, "csrf_token": token})
    assert response.status_code == 303
    thread = await db.fetchrow("SELECT id, kind, title, intro, author_id FROM threads")
    assert thread["kind"] == "introduction" and thread["author_id"] == cast["member"]
    assert thread["title"] == "My first connection: Test Condition"
    assert thread["intro"] == {key: value for key, value in fields.items() if key != "free_text"}
    body = await db.fetchval("SELECT body_md FROM posts WHERE thread_id = $1", thread["id"])
    for words in [
        "I care for my daughter.",
        "The first signs appeared: at birth.",
        "Diagnosis or gene: CMS, CHRNE.",
        "Treatments we have tried: pyridostigmine.",
        "What I hope to find here: other parents to talk with.",
        "I prefer to talk in Spanish or English.",
        "Evenings are the hardest.",
    ]:
        assert words in body
    listing = await client.get(f"/c/{SLUG}/introductions")
    assert "My first connection: Test Condition" in listing.text and page_problems(listing.text) == []
    assert "My first connection" not in (await client.get(f"/c/{SLUG}/questions")).text


async def test_every_field_is_optional_and_a_title_can_be_given(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    token = await login(client, "member")
    response = await client.post(f"/c/{SLUG}/introductions/new", data={"csrf_token": token})
    assert response.status_code == 303
    assert await db.fetchval("SELECT body_md FROM posts") == "Hello everyone, I have just joined this community."
    assert await db.fetchval("SELECT intro FROM threads") == {}
    await client.post(
        f"/c/{SLUG}/introductions/new", data={"for_whom": "myself", "title": "Hi from Lyon", "csrf_token": token}
    )
    row = await db.fetchrow(
        "SELECT t.title, p.body_md FROM threads t JOIN posts p ON p.thread_id = t.id ORDER BY t.id DESC LIMIT 1"
    )
    assert row is not None and dict(row) == {"title": "Hi from Lyon", "body_md": "I am here for myself."}


async def test_an_introduction_that_fails_validation_keeps_every_answer(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    token = await login(client, "member")
    data = {"cares_for": "my son", "diagnosis": "x" * 600, "free_text": "A long story about us", "csrf_token": token}
    response = await client.post(f"/c/{SLUG}/introductions/new", data=data)
    assert response.status_code == 400
    assert "under 500 characters" in response.text
    assert 'value="my son"' in response.text and "A long story about us" in response.text and "x" * 600 in response.text
    assert await db.fetchval("SELECT count(*) FROM threads") == 0


async def test_leaders_and_welcomers_are_told_about_a_new_introduction_and_others_are_not(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await db.execute("UPDATE memberships SET is_welcomer = true WHERE user_id = $1", cast["muted"])
    token = await login(client, "member")
    await client.post(f"/c/{SLUG}/introductions/new", data={"free_text": "Hello!", "csrf_token": token})
    told = await db.fetch("SELECT user_id, kind, actor_id FROM notifications ORDER BY user_id")
    assert [tuple(row) for row in told] == [
        (cast["leader"], "introduction", cast["member"]),
        (cast["muted"], "introduction", cast["member"]),
    ]


async def test_a_member_opts_in_and_out_of_welcoming(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    token = await login(client, "member")
    page = await client.get(f"/c/{SLUG}/introductions")
    assert "I'd like to welcome new members" in page.text
    assert (await client.post(f"/c/{SLUG}/welcomer", data={"welcome": "on", "csrf_token": token})).status_code == 303
    welcomer = "SELECT is_welcomer FROM memberships WHERE user_id = $1 AND community_id = $2"
    assert await db.fetchval(welcomer, cast["member"], cast["community"]) is True
    assert "Stop welcoming new members" in (await client.get(f"/c/{SLUG}/introductions")).text
    await client.post(f"/c/{SLUG}/welcomer", data={"welcome": "off", "csrf_token": token})
    assert await db.fetchval(welcomer, cast["member"], cast["community"]) is False


async def test_a_non_member_cannot_become_a_welcomer(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create_cast(db)
    before = await table_rows(db, "memberships")
    token = await login(client, "outsider")
    response = await client.post(f"/c/{SLUG}/welcomer", data={"welcome": "on", "csrf_token": token})
    assert response.status_code == 403
    assert await table_rows(db, "memberships") == before


async def test_a_reply_from_another_member_welcomes_the_newcomer(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    intro = await create_thread(db, cast["community"], cast["member"], "My first connection", kind="introduction")
    token = await login(client, "leader")
    await client.post(
        f"/c/{SLUG}/t/{intro}/reply", data={"body": "Welcome, so glad you found us.", "csrf_token": token}
    )
    rows = await db.fetch("SELECT user_id, kind FROM notifications")
    assert [tuple(row) for row in rows] == [(cast["member"], "welcome")]


async def test_leaders_see_introductions_still_waiting_for_a_welcome_after_a_day(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    lonely = await create_thread(
        db, cast["community"], cast["member"], "Nobody answered me", kind="introduction", created_at=two_days_ago
    )
    await create_post(db, lonely, cast["member"], "Still here, anyone?")  # the author's own follow-up is no welcome
    welcomed = await create_thread(
        db, cast["community"], cast["muted"], "Someone answered me", kind="introduction", created_at=two_days_ago
    )
    await create_post(db, welcomed, cast["leader"], "Welcome!")
    await create_thread(db, cast["community"], cast["banned"], "Just arrived", kind="introduction")
    await login(client, "leader")
    page = await client.get(f"/c/{SLUG}/introductions")
    waiting = page.text.split('id="waiting-heading"')[1].split("</section>")[0]
    assert "Nobody answered me" in waiting
    assert "Someone answered me" not in waiting and "Just arrived" not in waiting
    assert page_problems(page.text) == []


@pytest.mark.parametrize("who", ["member", "other_leader", None])
async def test_only_leaders_see_the_waiting_list(
    client: httpx.AsyncClient, db: asyncpg.Connection, who: str | None
) -> None:
    cast = await create_cast(db)
    old = datetime.now(UTC) - timedelta(days=2)
    await create_thread(
        db, cast["community"], cast["member"], "Nobody answered me", kind="introduction", created_at=old
    )
    if who:
        await login(client, who)
    page = await client.get(f"/c/{SLUG}/introductions")
    assert page.status_code == 200
    assert "Waiting for a welcome" not in page.text
    if who == "member":
        assert "Nobody answered me" in page.text  # listed with the others, not singled out
    else:
        assert "Nobody answered me" not in page.text  # introductions are for members until leaders open them


async def test_the_csrf_token_is_on_the_introduction_form(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create_cast(db)
    token = await login(client, "member")
    assert csrf_from((await client.get(f"/c/{SLUG}/introductions/new")).text) == token

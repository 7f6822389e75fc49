"""Families like mine over HTTP: the page and its forms (a refused form keeps the draft), the JSON API (status and
reason), and a private conversation page with its no-JavaScript form."""

from __future__ import annotations

import asyncpg
import httpx

from tests.factories import add_member, create_cast, create_conversation, create_user, csrf_from, login
from tests.test_templates import page_problems

FAMILIES = "/c/test-condition/families"
FIELDS = {"gene": "", "variant": "", "subtype": "", "treatments": "", "age_band": "", "country": "", "languages": ""}


async def test_a_member_opts_in_finds_a_family_and_connects_through_the_page(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    ana = await create_user(db, "ana", display_name="Ana")
    await add_member(db, cast["community"], ana)
    await db.execute(
        "INSERT INTO family_facts (community_id, user_id, gene) VALUES ($1, $2, 'DOK7')", cast["community"], ana
    )
    await login(client, "member")
    page = await client.get(FAMILIES)
    assert page.status_code == 200 and page_problems(page.text) == []
    assert "Ana" not in page.text  # not opted in: no family shown

    saved = await client.post(
        FAMILIES, data={**FIELDS, "gene": "dok7", "treatments": "Pyridostigmine", "csrf_token": csrf_from(page.text)}
    )
    assert saved.status_code == 303
    page = await client.get(FAMILIES)
    assert "Ana" in page.text and "Same gene: DOK7" in page.text and page_problems(page.text) == []
    asked = await client.post(FAMILIES + "/connect", data={"handle": "ana", "csrf_token": csrf_from(page.text)})
    assert asked.status_code == 303
    assert await db.fetchval("SELECT status FROM family_connections") == "pending"


async def test_a_refused_facts_form_comes_back_with_the_reason_and_the_draft(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    await login(client, "member")
    token = csrf_from((await client.get(FAMILIES)).text)
    refused = await client.post(
        FAMILIES, data={**FIELDS, "gene": "DOK7", "country": "France", "treatments": "salbutamol", "csrf_token": token}
    )
    assert refused.status_code == 400
    assert (
        "two-letter code" in refused.text and 'value="salbutamol"' in refused.text and 'value="France"' in refused.text
    )
    assert page_problems(refused.text) == []
    assert await db.fetchval("SELECT count(*) FROM family_facts") == 0


async def test_the_api_answers_refusals_with_a_status_and_a_reason(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    api = "/api/v1/communities/test-condition/families"
    assert (await client.get(api)).status_code == 401
    await login(client, "outsider")
    token = (await client.get("/api/v1/session")).json()["csrf_token"]
    outsider = await client.put(api + "/me", json={"gene": "DOK7"}, headers={"x-csrf-token": token})
    assert outsider.status_code == 403 and outsider.json()["error"] == "forbidden"
    await login(client, "member")
    token = (await client.get("/api/v1/session")).json()["csrf_token"]
    bad = await client.put(api + "/me", json={"gene": "DOK 7"}, headers={"x-csrf-token": token})
    assert bad.status_code == 400 and bad.json()["error"] == "bad_request" and bad.json()["message"]
    ok = await client.put(api + "/me", json={"gene": "DOK7", "languages": ["French"]}, headers={"x-csrf-token": token})
    assert ok.status_code == 200 and ok.json()["facts"]["languages"] == ["french"] and ok.json()["opted_in"]
    gone = await client.delete(api + "/me", headers={"x-csrf-token": token})
    assert gone.status_code == 204 and not (await client.get(api)).json()["opted_in"]
    assert await db.fetchval("SELECT count(*) FROM family_facts") == 0


async def test_a_conversation_page_sends_without_javascript_once_per_form(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    conversation = await create_conversation(db, cast["community"], cast["member"], cast["muted"])
    await db.execute("UPDATE sanctions SET lifted_at = now() WHERE user_id = $1", cast["muted"])
    await login(client, "member")
    page = await client.get(f"/conversations/{conversation}")
    assert page.status_code == 200 and page_problems(page.text) == []
    client_id = page.text.split('name="client_id" value="')[1].split('"')[0]
    form = {"body": "Bonjour", "client_id": client_id, "csrf_token": csrf_from(page.text)}
    for _ in range(2):  # a double submit is one message
        assert (await client.post(f"/conversations/{conversation}/messages", data=form)).status_code == 303
    assert await db.fetchval("SELECT count(*) FROM conversation_messages") == 1
    # Back in the browser, other words sent from the old form: refused, the words kept, a fresh id to send them.
    back = await client.post(f"/conversations/{conversation}/messages", data={**form, "body": "Et vous ?"})
    assert back.status_code == 400 and "Et vous ?" in back.text and page_problems(back.text) == []
    fresh = back.text.split('name="client_id" value="')[1].split('"')[0]
    assert fresh != client_id
    resent = {**form, "body": "Et vous ?", "client_id": fresh, "csrf_token": csrf_from(back.text)}
    assert (await client.post(f"/conversations/{conversation}/messages", data=resent)).status_code == 303
    assert await db.fetchval("SELECT count(*) FROM conversation_messages") == 2
    empty = await client.post(f"/conversations/{conversation}/messages", data={**form, "body": " ", "client_id": "b"})
    assert empty.status_code == 400 and page_problems(empty.text) == []
    listed = await client.get("/conversations")
    assert f"/conversations/{conversation}" in listed.text and page_problems(listed.text) == []


async def test_the_header_leads_a_signed_in_member_to_their_private_conversations_and_a_visitor_nowhere(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    assert 'href="/conversations"' not in (await client.get("/")).text
    await login(client, "member")
    home = await client.get("/")
    assert '<a href="/conversations">Private messages</a>' in home.text and page_problems(home.text) == []


async def test_an_ended_conversation_is_listed_with_a_report_form_that_keeps_the_draft_on_a_refusal(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    conversation = await create_conversation(db, cast["community"], cast["member"], cast["leader"], "ended")
    await login(client, "member")
    listed = await client.get("/conversations")
    assert "Ended conversations" in listed.text and page_problems(listed.text) == []
    assert f'action="/conversations/{conversation}/report"' in listed.text
    form = {"from": "list", "csrf_token": csrf_from(listed.text)}
    too_long = await client.post(f"/conversations/{conversation}/report", data={**form, "reason": "x" * 1001})
    assert too_long.status_code == 400 and page_problems(too_long.text) == []
    assert "x" * 1001 in too_long.text and 'aria-invalid="true"' in too_long.text
    sent = await client.post(f"/conversations/{conversation}/report", data={**form, "reason": "Unkind words"})
    assert sent.status_code == 303 and sent.headers["location"] == "/conversations?done=reported"
    assert await db.fetchval("SELECT reason FROM conversation_reports") == "Unkind words"


async def test_the_list_shows_how_many_messages_came_since_the_conversation_was_last_open(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    conversation = await create_conversation(db, cast["community"], cast["member"], cast["leader"], last_seq=2)
    for seq in (1, 2):
        await db.execute(
            "INSERT INTO conversation_messages (conversation_id, seq, author_id, client_msg_id, body)"
            " VALUES ($1, $2, $3, $4, 'Hello')",
            conversation, seq, cast["leader"], f"c{seq}",
        )  # fmt: skip
    await login(client, "member")
    listed = await client.get("/conversations")
    assert '<span class="badge">2 new messages</span>' in listed.text and page_problems(listed.text) == []
    assert (await client.get(f"/conversations/{conversation}")).status_code == 200
    assert "new message" not in (await client.get("/conversations")).text

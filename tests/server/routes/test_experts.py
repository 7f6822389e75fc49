"""The site admins' expert page: the badge with its credential, granted and revoked from a form, audited;
nobody else may see or use it; an expert's first answers are not held for review like a newcomer's."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.factories import add_member, create_cast, create_thread, create_user, login, table_rows
from tests.test_templates import page_problems

SLUG = "test-condition"


async def _badge(db: asyncpg.Connection, user_id: int) -> tuple[bool, str]:
    row = await db.fetchrow("SELECT is_expert, expert_credential FROM users WHERE id = $1", user_id)
    assert row is not None
    return row["is_expert"], row["expert_credential"]


async def test_an_admin_gives_the_badge_with_a_credential_and_takes_it_back_and_both_are_audited(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    token = await login(client, "siteadmin")
    empty = await client.get("/admin/experts")
    assert empty.status_code == 200 and "Nobody has the expert badge yet." in empty.text
    assert page_problems(empty.text) == []

    granted = await client.post(
        "/admin/experts",
        data={"username": "Member", "credential": "  Paediatric neurologist,   Hôpital Necker ", "csrf_token": token},
    )
    assert granted.status_code == 303 and granted.headers["location"] == "/admin/experts?notice=granted"
    assert await _badge(db, cast["member"]) == (True, "Paediatric neurologist, Hôpital Necker")
    page = await client.get("/admin/experts?notice=granted")
    assert "The expert badge was given" in page.text
    assert "@member" in page.text and "Paediatric neurologist, Hôpital Necker" in page.text
    assert "siteadmin gave the badge to member (Paediatric neurologist, Hôpital Necker)" in page.text
    assert page_problems(page.text) == []

    revoked = await client.post(
        "/admin/experts/member/revoke", data={"reason": "Left the hospital", "csrf_token": token}
    )
    assert revoked.status_code == 303
    assert await _badge(db, cast["member"]) == (False, "")
    page = await client.get("/admin/experts")
    assert "Nobody has the expert badge yet." in page.text
    assert "siteadmin took the badge back from member: Left the hospital" in page.text
    log = await db.fetch(
        "SELECT community_id, action, actor_id, target_user_id, reason, details FROM moderation_actions ORDER BY id"
    )
    assert [tuple(entry) for entry in log] == [
        (
            None,
            "expert_marked",
            cast["admin"],
            cast["member"],
            "",
            {"credential": "Paediatric neurologist, Hôpital Necker"},
        ),
        (None, "expert_unmarked", cast["admin"], cast["member"], "Left the hospital", {}),
    ]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"username": "nobody-here", "credential": "Nurse"}, "username", "There is no member with that username."),
        ({"username": "member", "credential": "   "}, "credential", "Say what you checked"),
        ({"username": "member", "credential": "x" * 201}, "credential", "at most 200 characters"),
    ],
)
async def test_a_grant_form_with_bad_input_comes_back_with_the_message_and_the_draft(
    client: httpx.AsyncClient, db: asyncpg.Connection, data: dict[str, str], field: str, message: str
) -> None:
    await create_cast(db)
    token = await login(client, "siteadmin")
    before = await table_rows(db, "users", "moderation_actions")
    answer = await client.post("/admin/experts", data={**data, "csrf_token": token})
    assert answer.status_code == 400
    assert message in answer.text and f'id="f-{field}-error"' in answer.text
    assert f'value="{data["username"]}"' in answer.text
    assert page_problems(answer.text) == []
    assert await table_rows(db, "users", "moderation_actions") == before


@pytest.mark.parametrize("who", ["member", "leader", "other_leader", None])
async def test_nobody_but_a_site_admin_may_see_the_expert_page_or_give_or_take_the_badge(
    client: httpx.AsyncClient, db: asyncpg.Connection, who: str | None
) -> None:
    cast = await create_cast(db)
    await db.execute("UPDATE users SET is_expert = true, expert_credential = 'Nurse' WHERE id = $1", cast["outsider"])
    before = await table_rows(db, "users", "moderation_actions")
    if who:
        token = await login(client, who)
    else:
        token = (await client.get("/login")).text.split('name="csrf_token" value="')[1].split('"')[0]
    page = await client.get("/admin/experts")
    if who is None:
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
    else:
        assert page.status_code == 403 and "Nurse" not in page.text
    refused = 401 if who is None else 403
    grant = await client.post("/admin/experts", data={"username": "member", "credential": "Nurse", "csrf_token": token})
    assert grant.status_code == refused
    revoke = await client.post("/admin/experts/outsider/revoke", data={"reason": "", "csrf_token": token})
    assert revoke.status_code == refused
    assert await table_rows(db, "users", "moderation_actions") == before


async def test_an_experts_first_answer_is_shown_at_once_while_a_newcomers_waits_for_review(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    question = await create_thread(db, cast["community"], cast["member"], "Is 3,4-DAP safe?", kind="question")
    for name, expert in (("drlee", True), ("newbie", False)):
        user_id = await create_user(db, name, expert=expert)
        await add_member(db, cast["community"], user_id, approved_posts=0)  # both just joined
    for name in ("drlee", "newbie"):
        client.cookies.clear()
        token = await login(client, name)
        answer = await client.post(
            f"/c/{SLUG}/t/{question}/reply", data={"body": f"Answer from {name}", "csrf_token": token}
        )
        assert answer.status_code == 303
    rows = await db.fetch("SELECT body_md, state FROM posts WHERE thread_id = $1 AND body_md LIKE 'Answer%'", question)
    states = {row["body_md"]: row["state"] for row in rows}
    assert states == {"Answer from drlee": "visible", "Answer from newbie": "held"}

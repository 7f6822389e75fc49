"""Expert questions over HTTP: asking, the not-medical-advice notice, accepted answers and the expert badge."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.factories import add_member, create_cast, create_post, create_thread, create_user, login, table_rows
from tests.test_templates import page_problems

SLUG = "test-condition"


async def test_asking_creates_a_question_with_a_not_medical_advice_notice(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    token = await login(client, "member")
    form = await client.get(f"/c/{SLUG}/ask")
    assert form.status_code == 200 and "Not medical advice" in form.text and page_problems(form.text) == []
    response = await client.post(
        f"/c/{SLUG}/ask",
        data={"title": "Is 3,4-DAP safe for toddlers?", "body": "Our neurologist suggested it.", "csrf_token": token},
    )
    assert response.status_code == 303
    assert await db.fetchval("SELECT kind FROM threads") == "question"
    page = await client.get(response.headers["location"])
    assert "Not medical advice" in page.text and page_problems(page.text) == []
    assert "Is 3,4-DAP safe for toddlers?" in (await client.get(f"/c/{SLUG}/questions")).text


async def test_the_questions_list_filters_questions_without_an_accepted_answer(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    answered = await create_thread(db, cast["community"], cast["member"], "Answered one", kind="question")
    answer = await create_post(db, answered, cast["leader"], "Here is how")
    await db.execute("UPDATE threads SET accepted_post_id = $1 WHERE id = $2", answer, answered)
    await create_thread(db, cast["community"], cast["member"], "Open one", kind="question")
    await create_thread(db, cast["community"], cast["member"], "Just chatting")
    everything = await client.get(f"/c/{SLUG}/questions")
    assert (
        "Answered one" in everything.text and "Open one" in everything.text and "Just chatting" not in everything.text
    )
    open_only = await client.get(f"/c/{SLUG}/questions", params={"open": "1"})
    assert "Open one" in open_only.text and "Answered one" not in open_only.text


async def test_replying_to_a_question_notifies_the_asker_of_an_answer(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    question = await create_thread(db, cast["community"], cast["member"], "Q", kind="question")
    token = await login(client, "leader")
    await client.post(f"/c/{SLUG}/t/{question}/reply", data={"body": "An answer", "csrf_token": token})
    assert [tuple(row) for row in await db.fetch("SELECT user_id, kind FROM notifications")] == [
        (cast["member"], "answer")
    ]


@pytest.mark.parametrize("who", ["member", "leader"])
async def test_the_asker_or_a_leader_accepts_an_answer_and_its_author_is_told(
    client: httpx.AsyncClient, db: asyncpg.Connection, who: str
) -> None:
    cast = await create_cast(db)
    expert = await create_user(db, "drwho", display_name="Dr Who", expert=True)
    await add_member(db, cast["community"], expert)
    question = await create_thread(db, cast["community"], cast["member"], "Q", kind="question")
    answer = await create_post(db, question, expert, "Try this")
    token = await login(client, who)
    page = await client.get(f"/c/{SLUG}/t/{question}")
    assert "Accept this answer" in page.text
    response = await client.post(f"/c/{SLUG}/t/{question}/accept", data={"post_id": str(answer), "csrf_token": token})
    assert response.status_code == 303
    assert await db.fetchval("SELECT accepted_post_id FROM threads WHERE id = $1", question) == answer
    assert [tuple(row) for row in await db.fetch("SELECT user_id, kind FROM notifications")] == [(expert, "accepted")]
    page = await client.get(f"/c/{SLUG}/t/{question}")
    assert "Accepted answer" in page.text and "Expert</span>" in page.text
    cleared = await client.post(f"/c/{SLUG}/t/{question}/accept", data={"post_id": "", "csrf_token": token})
    assert cleared.status_code == 303
    assert await db.fetchval("SELECT accepted_post_id FROM threads WHERE id = $1", question) is None


@pytest.mark.parametrize("who", ["outsider", "other_leader", "answerer", None])
async def test_nobody_else_can_accept_an_answer(
    client: httpx.AsyncClient, db: asyncpg.Connection, who: str | None
) -> None:
    cast = await create_cast(db)
    answerer = await create_user(db, "answerer")
    await add_member(db, cast["community"], answerer)
    question = await create_thread(db, cast["community"], cast["member"], "Q", kind="question")
    answer = await create_post(db, question, answerer, "Try this")
    before = await table_rows(db, "threads", "notifications")
    if who:
        token = await login(client, who)
        assert "Accept this answer" not in (await client.get(f"/c/{SLUG}/t/{question}")).text
    else:
        token = (await client.get("/login")).text.split('name="csrf_token" value="')[1].split('"')[0]
    response = await client.post(f"/c/{SLUG}/t/{question}/accept", data={"post_id": str(answer), "csrf_token": token})
    assert response.status_code == (401 if who is None else 403)
    assert await table_rows(db, "threads", "notifications") == before


async def test_only_a_visible_reply_in_the_question_can_be_accepted(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    question = await create_thread(db, cast["community"], cast["member"], "Q", kind="question")
    opening = await db.fetchval("SELECT id FROM posts WHERE thread_id = $1", question)
    deleted = await create_post(db, question, cast["leader"], "Gone", state="deleted")
    discussion = await create_thread(db, cast["community"], cast["member"], "Chat")
    elsewhere = await create_post(db, discussion, cast["leader"], "Elsewhere")
    token = await login(client, "member")
    for post_id in (opening, deleted, elsewhere, 999999):
        response = await client.post(
            f"/c/{SLUG}/t/{question}/accept", data={"post_id": str(post_id), "csrf_token": token}
        )
        assert response.status_code == 400, post_id
    not_a_question = await client.post(
        f"/c/{SLUG}/t/{discussion}/accept", data={"post_id": str(elsewhere), "csrf_token": token}
    )
    assert not_a_question.status_code == 409
    assert await db.fetchval("SELECT count(*) FROM threads WHERE accepted_post_id IS NOT NULL") == 0


async def test_the_old_expert_switch_no_longer_grants_the_badge_without_a_credential(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    before = await table_rows(db, "users", "moderation_actions")
    token = await login(client, "siteadmin")
    response = await client.post("/admin/experts/member", data={"expert": "on", "csrf_token": token})
    assert response.status_code == 404  # granting goes through /admin/experts, with a credential
    assert await db.fetchval("SELECT is_expert FROM users WHERE id = $1", cast["member"]) is False
    assert await table_rows(db, "users", "moderation_actions") == before

"""The crisis path (server/actions/crisis.py): a leader reaches out, writes privately to the person, or hands
over to the site admins; each step audited; the reporter learns someone is on it; refused to non-leaders."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.factories import create_cast, create_post, create_thread, csrf_from, login, table_rows

SLUG = "test-condition"


async def _at_risk(db: asyncpg.Connection, cast: dict[str, int]) -> int:
    thread = await create_thread(db, cast["community"], cast["leader"], "Hard days")
    post = await create_post(db, thread, cast["member"], "I cannot go on like this")
    await db.execute(
        "INSERT INTO flags (community_id, post_id, subject_user_id, flagger_id, reason) VALUES ($1, $2, $3, $4, 'at_risk')",
        cast["community"], post, cast["member"], cast["muted"],
    )  # fmt: skip
    return post


async def _actions(db: asyncpg.Connection) -> list[str]:
    return [row["action"] for row in await db.fetch("SELECT action FROM moderation_actions ORDER BY id")]


async def test_a_leader_marks_i_reached_out_and_the_reporter_sees_someone_is_on_it(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    post = await _at_risk(db, cast)
    token = await login(client, "leader")
    queue = (await client.get(f"/c/{SLUG}/review")).text
    assert f"/review/posts/{post}/reached-out" in queue and f"/review/posts/{post}/hand-over" in queue
    done = await client.post(f"/c/{SLUG}/review/posts/{post}/reached-out", data={"csrf_token": token})
    assert done.status_code == 303
    assert "A leader reached out to them" in (await client.get(f"/c/{SLUG}/review")).text
    assert await _actions(db) == ["crisis_reached_out"]
    await login(client, "muted")
    assert "is looking after the person you were worried about" in (await client.get("/notifications")).text


async def test_a_private_supportive_message_is_read_by_the_person_alone(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    post = await _at_risk(db, cast)
    token = await login(client, "leader")
    empty = await client.post(f"/c/{SLUG}/review/posts/{post}/support", data={"message": "", "csrf_token": token})
    assert empty.status_code == 400 and "Please write a few words" in empty.text
    words = "We are here for you. Would you like to talk tonight?"
    sent = await client.post(f"/c/{SLUG}/review/posts/{post}/support", data={"message": words, "csrf_token": token})
    assert sent.status_code == 303
    assert await _actions(db) == ["crisis_support"]
    assert words not in str(await db.fetchval("SELECT details FROM moderation_actions"))
    await login(client, "member")
    assert words in (await client.get("/notifications")).text
    for other in ("muted", "leader", "siteadmin"):
        await login(client, other)
        assert words not in (await client.get("/notifications")).text


async def test_handing_over_puts_it_before_the_site_admins_at_once(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    post = await _at_risk(db, cast)
    token = await login(client, "leader")
    assert (
        await client.post(f"/c/{SLUG}/review/posts/{post}/hand-over", data={"csrf_token": token})
    ).status_code == 303
    again = await client.post(f"/c/{SLUG}/review/posts/{post}/hand-over", data={"csrf_token": token})
    assert again.status_code == 409
    assert await _actions(db) == ["crisis_handover"]
    assert await db.fetchval("SELECT kind FROM notifications WHERE user_id = $1", cast["admin"]) == "crisis"
    await login(client, "siteadmin")
    assert "handed someone who may be at risk over to you" in (await client.get("/notifications")).text
    assert "I cannot go on like this" in (await client.get("/admin/flags")).text
    await login(client, "muted")
    assert "The Kindred team is now also looking after" in (await client.get("/notifications")).text


@pytest.mark.parametrize("who", ["anonymous", "member", "muted", "other_leader"])
async def test_only_the_communitys_leaders_take_the_crisis_steps(
    client: httpx.AsyncClient, db: asyncpg.Connection, who: str
) -> None:
    cast = await create_cast(db)
    post = await _at_risk(db, cast)
    token = csrf_from((await client.get("/login")).text) if who == "anonymous" else await login(client, who)
    before = await table_rows(db, "flags", "notifications", "moderation_actions")
    for step, form in (("reached-out", {}), ("support", {"message": "Hello"}), ("hand-over", {})):
        answer = await client.post(f"/c/{SLUG}/review/posts/{post}/{step}", data={**form, "csrf_token": token})
        assert answer.status_code in {401, 403}, (step, answer.status_code)
    assert await table_rows(db, "flags", "notifications", "moderation_actions") == before

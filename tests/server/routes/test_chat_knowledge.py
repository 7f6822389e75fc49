"""Chat to knowledge over HTTP: a leader or an author proposes chat messages as a tip or thread, every other
quoted author accepts or declines, nothing is published before every answer, declined words are left out,
and the result links back to each message's moment in the room."""

from __future__ import annotations

import asyncpg
import httpx

from server import auth
from tests.factories import add_member, add_sanction, create_community, create_session, create_user, csrf_from

SLUG = "test-condition"


async def _cast(db: asyncpg.Connection) -> dict[str, int]:
    community = await create_community(db)
    ids = {"community": community, "room": await db.fetchval("SELECT id FROM rooms WHERE community_id = $1", community)}
    for name, role in (("amara", "leader"), ("lucia", "member"), ("tomas", "member"), ("nadia", "member")):
        ids[name] = await create_user(db, name, display_name=name.capitalize())
        await add_member(db, community, ids[name], role)
    ids["outsider"] = await create_user(db, "outsider")
    return ids


async def _say(db: asyncpg.Connection, ids: dict[str, int], author: str, body: str) -> int:
    seq = await db.fetchval("UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq", ids["room"])
    await db.execute(
        "INSERT INTO room_messages (room_id, seq, author_id, client_msg_id, body) VALUES ($1, $2, $3, $4, $5)",
        ids["room"], seq, ids[author], f"c{seq}", body,
    )  # fmt: skip
    return int(seq)


async def _as(client: httpx.AsyncClient, db: asyncpg.Connection, user_id: int) -> str:
    client.cookies.set(auth.SESSION_COOKIE, await create_session(db, user_id))
    return csrf_from((await client.get("/settings")).text)


async def _propose(client: httpx.AsyncClient, token: str, data: dict[str, str], seqs: list[int]) -> httpx.Response:
    form: dict[str, str | list[str]] = {**data, "seq": [str(seq) for seq in seqs], "csrf_token": token}
    return await client.post(f"/c/{SLUG}/live/main/propose", data=form)


async def test_nothing_is_published_until_every_quoted_author_answers_and_declined_words_are_left_out(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await _cast(db)
    first = await _say(db, ids, "lucia", "A wedge pillow helped our son breathe at night.")
    second = await _say(db, ids, "tomas", "We tried it too, and a humidifier.")
    third = await _say(db, ids, "nadia", "Ask the sleep clinic about a pulse oximeter.")
    token = await _as(client, db, ids["amara"])
    form = await client.get(f"/c/{SLUG}/live/main/propose")
    assert form.status_code == 200 and "A wedge pillow helped" in form.text
    sent = await _propose(
        client, token, {"kind": "thread", "title": "Sleeping better", "note": "From the chat."}, [first, second, third]
    )
    assert sent.status_code == 303
    proposal = await db.fetchval("SELECT id FROM chat_proposals")
    assert sent.headers["location"] == f"/c/{SLUG}/quotes/{proposal}"
    asked = await db.fetch("SELECT user_id, kind, data FROM notifications ORDER BY user_id")
    assert [(row["user_id"], row["data"]["event"]) for row in asked] == [
        (ids["lucia"], "consent"), (ids["tomas"], "consent"), (ids["nadia"], "consent"),
    ]  # fmt: skip
    assert asked[0]["data"]["url"] == f"/c/{SLUG}/quotes/{proposal}"

    # Lucía accepts, Tomás declines: Nadia has not answered, so nothing is published yet.
    for name, decision in (("lucia", "accept"), ("tomas", "decline")):
        token = await _as(client, db, ids[name])
        told = (await client.get("/notifications")).text
        assert "would like to quote your words from Main room in a new thread, “Sleeping better”" in told
        page = await client.get(f"/c/{SLUG}/quotes/{proposal}")
        assert page.status_code == 200 and "May your words be quoted?" in page.text
        answered = await client.post(
            f"/c/{SLUG}/quotes/{proposal}/answer", data={"decision": decision, "csrf_token": token}
        )
        assert answered.status_code == 303
        assert "May your words be quoted?" not in (await client.get(f"/c/{SLUG}/quotes/{proposal}")).text
    assert await db.fetchval("SELECT count(*) FROM threads") == 0
    assert await db.fetchval("SELECT status FROM chat_proposals") == "waiting"

    token = await _as(client, db, ids["nadia"])
    await client.post(f"/c/{SLUG}/quotes/{proposal}/answer", data={"decision": "accept", "csrf_token": token})
    row = await db.fetchrow("SELECT status, thread_id FROM chat_proposals")
    assert row["status"] == "published"
    thread = await db.fetchrow("SELECT title, author_id, state FROM threads WHERE id = $1", row["thread_id"])
    assert thread is not None and tuple(thread) == ("Sleeping better", ids["amara"], "visible")
    body = await db.fetchval("SELECT body_md FROM posts WHERE thread_id = $1", row["thread_id"])
    assert body.startswith("From the chat.")
    assert "A wedge pillow helped" in body and "pulse oximeter" in body and "humidifier" not in body
    assert f"Lucia, [in the live room](/c/{SLUG}/live/main#message-{first})" in body
    assert f"Nadia, [in the live room](/c/{SLUG}/live/main#message-{third})" in body
    shown = await client.get(f"/c/{SLUG}/t/{row['thread_id']}")
    assert shown.status_code == 200 and f'href="/c/{SLUG}/live/main#message-{first}"' in shown.text
    # The room page has the anchor the link points at.
    assert f'id="message-{first}"' in (await client.get(f"/c/{SLUG}/live/main")).text
    # Decided: a late answer changes nothing.
    late = await client.post(f"/c/{SLUG}/quotes/{proposal}/answer", data={"decision": "decline", "csrf_token": token})
    assert late.status_code == 409
    # The proposer is told it is published, with the way to it.
    outcome = await db.fetchrow("SELECT kind, data FROM notifications WHERE user_id = $1", ids["amara"])
    assert outcome["kind"] == "consent" and outcome["data"]["event"] == "published"
    assert outcome["data"]["url"] == f"/c/{SLUG}/t/{row['thread_id']}"
    await _as(client, db, ids["amara"])
    assert "your thread “Sleeping better” is published" in (await client.get("/notifications")).text


async def test_an_author_quoting_only_themself_publishes_a_tip_at_once(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await _cast(db)
    mine = await _say(db, ids, "lucia", "Warm baths before bed calm the cramps.")
    token = await _as(client, db, ids["lucia"])
    sent = await _propose(client, token, {"kind": "tip", "title": "Warm baths", "note": ""}, [mine])
    assert sent.status_code == 303
    tip = await db.fetchrow("SELECT name, description, author_id FROM tips")
    assert tip["name"] == "Warm baths" and tip["author_id"] == ids["lucia"]
    assert tip["description"].startswith("> Warm baths before bed calm the cramps.")
    assert await db.fetchval("SELECT count(*) FROM notifications") == 0
    assert await db.fetchval("SELECT status FROM chat_proposals") == "published"


async def test_when_every_quoted_author_declines_nothing_is_published(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await _cast(db)
    seq = await _say(db, ids, "tomas", "Private: our son's results came back.")
    token = await _as(client, db, ids["amara"])
    await _propose(client, token, {"kind": "tip", "title": "Results", "note": ""}, [seq])
    proposal = await db.fetchval("SELECT id FROM chat_proposals")
    token = await _as(client, db, ids["tomas"])
    await client.post(f"/c/{SLUG}/quotes/{proposal}/answer", data={"decision": "decline", "csrf_token": token})
    assert await db.fetchval("SELECT status FROM chat_proposals") == "dropped"
    assert await db.fetchval("SELECT count(*) FROM tips") == 0
    told = await db.fetchrow("SELECT kind, data FROM notifications WHERE user_id = $1", ids["amara"])
    assert told["kind"] == "consent" and told["data"]["event"] == "dropped"
    await _as(client, db, ids["amara"])
    assert "Your tip “Results” was not published" in (await client.get("/notifications")).text


async def test_a_member_who_switched_moderation_notices_off_is_still_asked_for_consent(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await _cast(db)
    await db.execute(
        "INSERT INTO notification_preferences (user_id, kind, in_app, email) VALUES ($1, 'moderation', false, false)",
        ids["tomas"],
    )
    seq = await _say(db, ids, "tomas", "Our physio suggested swimming.")
    token = await _as(client, db, ids["amara"])
    await _propose(client, token, {"kind": "tip", "title": "Swimming", "note": ""}, [seq])
    asked = await db.fetchrow("SELECT kind, data FROM notifications WHERE user_id = $1", ids["tomas"])
    assert asked is not None and asked["kind"] == "consent" and asked["data"]["event"] == "consent"


async def test_only_leaders_or_an_author_of_the_messages_may_propose_them(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await _cast(db)
    seq = await _say(db, ids, "lucia", "Lucía's words")
    await add_sanction(db, ids["community"], ids["nadia"], "mute", reason="heated")
    for who, status in (("tomas", 403), ("nadia", 403), ("outsider", 404)):
        token = await _as(client, db, ids[who])
        answer = await _propose(client, token, {"kind": "tip", "title": "Borrowed", "note": ""}, [seq])
        assert answer.status_code == status, who
    assert await db.fetchval("SELECT count(*) FROM chat_proposals") == 0


async def test_a_proposal_with_bad_input_comes_back_with_its_message_and_the_draft(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await _cast(db)
    seq = await _say(db, ids, "lucia", "Some words")
    token = await _as(client, db, ids["amara"])
    no_messages = await _propose(client, token, {"kind": "tip", "title": "Kept title", "note": "Kept note"}, [])
    assert no_messages.status_code == 400 and "Choose at least one message." in no_messages.text
    assert 'value="Kept title"' in no_messages.text and "Kept note" in no_messages.text
    no_title = await _propose(client, token, {"kind": "thread", "title": " ", "note": ""}, [seq])
    assert no_title.status_code == 400 and 'id="f-title-error"' in no_title.text
    assert f'value="{seq}" checked' in no_title.text
    assert await db.fetchval("SELECT count(*) FROM chat_proposals") == 0


async def test_a_proposal_is_read_only_by_its_proposer_its_quoted_authors_and_leaders(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await _cast(db)
    seq = await _say(db, ids, "lucia", "Only for those concerned")
    token = await _as(client, db, ids["amara"])
    await _propose(client, token, {"kind": "tip", "title": "Concerned", "note": ""}, [seq])
    proposal = await db.fetchval("SELECT id FROM chat_proposals")
    for who, status in (("amara", 200), ("lucia", 200), ("tomas", 404), ("outsider", 404)):
        await _as(client, db, ids[who])
        assert (await client.get(f"/c/{SLUG}/quotes/{proposal}")).status_code == status, who
    token = await _as(client, db, ids["tomas"])
    refused = await client.post(f"/c/{SLUG}/quotes/{proposal}/answer", data={"decision": "accept", "csrf_token": token})
    assert refused.status_code == 404
    assert await db.fetchval("SELECT consent FROM chat_proposal_quotes") == "asked"

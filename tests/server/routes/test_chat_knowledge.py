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
        assert "A resource is public" not in page.text  # a thread is as private as the forum
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


# --- As a resource: leaders only, with the resource's kind and link ----------------------------------------

RESOURCE = {"kind": "resource", "resource_kind": "registry", "url": "https://registry.example/cms"}


async def test_a_leader_proposes_a_resource_published_only_once_both_quoted_authors_answered_without_the_declined(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await _cast(db)
    first = await _say(db, ids, "lucia", "The patient registry sends a newsletter on new trials.")
    second = await _say(db, ids, "tomas", "We signed up but our son's data is private.")
    token = await _as(client, db, ids["amara"])
    form = await client.get(f"/c/{SLUG}/live/main/propose")
    assert 'name="kind" value="resource"' in form.text and 'name="url"' in form.text
    sent = await _propose(
        client, token, {**RESOURCE, "title": "CMS patient registry", "note": "Recommended in chat."}, [first, second]
    )
    assert sent.status_code == 303
    proposal = await db.fetchval("SELECT id FROM chat_proposals")
    asked = await db.fetch("SELECT user_id, data FROM notifications ORDER BY user_id")
    assert [(row["user_id"], row["data"]["what"]) for row in asked] == [
        (ids["lucia"], "resource"), (ids["tomas"], "resource"),
    ]  # fmt: skip

    token = await _as(client, db, ids["lucia"])
    told = (await client.get("/notifications")).text
    assert "would like to quote your words from Main room in a resource, “CMS patient registry”" in told
    # She is told, before she answers, that a resource is public (search engines index resources).
    consent_page = (await client.get(f"/c/{SLUG}/quotes/{proposal}")).text
    assert "A resource is public: anyone can read it, search engines included" in consent_page
    await client.post(f"/c/{SLUG}/quotes/{proposal}/answer", data={"decision": "accept", "csrf_token": token})
    # Lucía accepted, Tomás has not answered: nothing is published.
    assert await db.fetchval("SELECT count(*) FROM resources") == 0
    assert await db.fetchval("SELECT status FROM chat_proposals") == "waiting"

    token = await _as(client, db, ids["tomas"])
    await client.post(f"/c/{SLUG}/quotes/{proposal}/answer", data={"decision": "decline", "csrf_token": token})
    row = await db.fetchrow("SELECT status, resource_id FROM chat_proposals")
    assert row["status"] == "published" and row["resource_id"] is not None
    resource = await db.fetchrow("SELECT * FROM resources WHERE id = $1", row["resource_id"])
    assert (resource["kind"], resource["title"], resource["url"], resource["created_by"]) == (
        "registry", "CMS patient registry", "https://registry.example/cms", ids["amara"],
    )  # fmt: skip
    description = resource["description"]
    assert description.startswith("Recommended in chat.")
    assert "newsletter on new trials" in description and "data is private" not in description
    assert f"Lucia, [in the live room](/c/{SLUG}/live/main#message-{first})" in description
    # The resources page shows it at the anchor the proposer is sent to, linking back to the room.
    page = await client.get(f"/c/{SLUG}/resources")
    assert f'id="resource-{resource["id"]}"' in page.text
    assert f'href="/c/{SLUG}/live/main#message-{first}"' in page.text
    outcome = await db.fetchrow("SELECT kind, data FROM notifications WHERE user_id = $1", ids["amara"])
    assert outcome["data"]["event"] == "published"
    assert outcome["data"]["url"] == f"/c/{SLUG}/resources#resource-{resource['id']}"
    await _as(client, db, ids["amara"])
    assert "your resource “CMS patient registry” is published" in (await client.get("/notifications")).text
    shown = await client.get(f"/c/{SLUG}/quotes/{proposal}")
    assert "Proposed as a resource" in shown.text
    assert f'href="/c/{SLUG}/resources#resource-{resource["id"]}"' in shown.text


async def test_a_member_who_is_not_a_leader_cannot_propose_a_resource_and_keeps_the_draft(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await _cast(db)
    mine = await _say(db, ids, "lucia", "The registry's newsletter is good.")
    token = await _as(client, db, ids["lucia"])
    # The choice is not offered to her, though she may propose her own words as a tip.
    form = await client.get(f"/c/{SLUG}/live/main/propose")
    assert form.status_code == 200 and 'value="resource"' not in form.text and 'name="url"' not in form.text
    refused = await _propose(client, token, {**RESOURCE, "title": "Kept title", "note": "Kept note"}, [mine])
    assert refused.status_code == 403
    assert "Only this community&#39;s leaders can add or change its resources." in refused.text
    assert 'value="Kept title"' in refused.text and "Kept note" in refused.text
    assert f'value="{mine}" checked' in refused.text
    assert await db.fetchval("SELECT count(*) FROM chat_proposals") == 0
    # As a tip, her own words are published at once: the refusal was about the resource only.
    assert (
        await _propose(client, token, {"kind": "tip", "title": "Newsletter", "note": ""}, [mine])
    ).status_code == 303
    assert await db.fetchval("SELECT count(*) FROM resources") == 0


async def test_a_resource_proposal_with_a_bad_link_or_kind_comes_back_with_every_field_and_message(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await _cast(db)
    first = await _say(db, ids, "lucia", "Some words")
    second = await _say(db, ids, "tomas", "Other words")
    token = await _as(client, db, ids["amara"])
    draft = {"title": "Kept title", "note": "Kept note"}
    bad_link = await _propose(client, token, {**RESOURCE, **draft, "url": "javascript:alert(1)"}, [first, second])
    assert bad_link.status_code == 400 and 'id="f-url-error"' in bad_link.text
    assert "Please give a web link starting with https:// or http://." in bad_link.text
    assert 'value="javascript:alert(1)"' in bad_link.text and 'value="Kept title"' in bad_link.text
    assert "Kept note" in bad_link.text and 'value="registry" selected' in bad_link.text
    assert 'value="resource" checked' in bad_link.text
    assert f'value="{first}" checked' in bad_link.text and f'value="{second}" checked' in bad_link.text
    no_link = await _propose(client, token, {**RESOURCE, **draft, "url": " "}, [first])
    assert no_link.status_code == 400 and "Please give the resource&#39;s link." in no_link.text
    bad_kind = await _propose(client, token, {**RESOURCE, **draft, "resource_kind": "rumour"}, [first])
    assert bad_kind.status_code == 400 and 'id="f-resource_kind-error"' in bad_kind.text
    long_title = await _propose(client, token, {**RESOURCE, "title": "x" * 201, "note": ""}, [first])
    assert long_title.status_code == 400 and 'id="f-title-error"' in long_title.text
    assert await db.fetchval("SELECT count(*) FROM chat_proposals") == 0
    # A title as long as a resource allows (longer than a tip's) is taken.
    assert (await _propose(client, token, {**RESOURCE, "title": "y" * 200, "note": ""}, [first])).status_code == 303


async def test_a_resource_proposal_is_dropped_when_its_leader_stepped_down_before_the_last_answer(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await _cast(db)
    seq = await _say(db, ids, "lucia", "The registry is at registry.example.")
    token = await _as(client, db, ids["amara"])
    await _propose(client, token, {**RESOURCE, "title": "Registry", "note": ""}, [seq])
    proposal = await db.fetchval("SELECT id FROM chat_proposals")
    await db.execute(
        "UPDATE memberships SET role = 'member' WHERE community_id = $1 AND user_id = $2",
        ids["community"],
        ids["amara"],
    )
    token = await _as(client, db, ids["lucia"])
    await client.post(f"/c/{SLUG}/quotes/{proposal}/answer", data={"decision": "accept", "csrf_token": token})
    assert await db.fetchval("SELECT status FROM chat_proposals") == "dropped"
    assert await db.fetchval("SELECT count(*) FROM resources") == 0
    told = await db.fetchrow("SELECT kind, data FROM notifications WHERE user_id = $1", ids["amara"])
    assert told["kind"] == "consent" and told["data"]["event"] == "dropped" and told["data"]["what"] == "resource"
    await _as(client, db, ids["amara"])
    assert "Your resource “Registry” was not published" in (await client.get("/notifications")).text

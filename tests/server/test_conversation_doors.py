"""No door lets a community's leader or a site admin outside a conversation read it: pages, API, websocket join,
search, notifications, exports, leaders' pages; only a report hands site admins the messages up to the report."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.factories import add_member, create_community, create_conversation, create_session, create_user
from tests.harness import LiveServer
from tests.live_client import LiveClient

SECRET = "zzwhisperzz"
LATER = "zzafterreportzz"


async def _world(db: asyncpg.Connection) -> dict[str, int]:
    community = await create_community(db)
    ids = {"community": community}
    for name in ("ana", "ben", "leader", "admin"):
        ids[name] = await create_user(db, name, admin=name == "admin")
    for name in ("ana", "ben"):
        await add_member(db, community, ids[name])
    await add_member(db, community, ids["leader"], "leader")
    await add_member(db, community, ids["admin"])  # even as a member of the community
    ids["conversation"] = await create_conversation(db, community, ids["ana"], ids["ben"])
    await db.execute(
        "INSERT INTO family_facts (community_id, user_id, gene, variant) SELECT $1, unnest($2::bigint[]), 'DOK7', $3",
        community, [ids["ana"], ids["ben"]], "zzvariantzz",
    )  # fmt: skip
    return ids


async def _http(server: LiveServer, db: asyncpg.Connection, user_id: int) -> httpx.AsyncClient:
    session = await create_session(db, user_id)
    http = httpx.AsyncClient(base_url=server.base_url, cookies={"kindred_session": session}, timeout=20)
    http.headers["x-csrf-token"] = (await http.get("/api/v1/session")).json()["csrf_token"]
    return http


async def _say(server: LiveServer, db: asyncpg.Connection, user_id: int, room: str, body: str) -> None:
    client = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, user_id))
    await client.join(room)
    assert (await client.say(room, body))["type"] == "ack"
    await client.close()


@pytest.mark.parametrize("role", ["leader", "admin"])
async def test_a_leader_or_site_admin_outside_a_conversation_cannot_read_it_through_any_door(
    server: LiveServer, db: asyncpg.Connection, role: str
) -> None:
    ids = await _world(db)
    conversation = ids["conversation"]
    room = f"dm:{conversation}"
    await _say(server, db, ids["ana"], room, f"Our son, {SECRET}, tried seekdm")
    http = await _http(server, db, ids[role])
    try:
        page, nothing = await http.get(f"/conversations/{conversation}"), await http.get("/conversations/999999")
        assert page.status_code == nothing.status_code == 404
        api, api_nothing = (
            await http.get(f"/api/v1/conversations/{conversation}/messages"),
            await http.get("/api/v1/conversations/999999/messages"),
        )
        assert api.status_code == api_nothing.status_code == 404 and api.json() == api_nothing.json()
        sent = await http.post(f"/api/v1/conversations/{conversation}/messages", json={"client_id": "x", "body": "hi"})
        assert sent.status_code == 404
        for door in (await http.post(f"/api/v1/conversations/{conversation}/report", json={"reason": "look"}),
                     await http.post(f"/api/v1/conversations/{conversation}/block")):  # fmt: skip
            assert door.status_code == 404
        reads = [
            "/conversations",
            "/api/v1/conversations",
            "/search?q=seekdm",  # a search page repeats its query: search for another word of it
            "/api/v1/search?q=seekdm",
            "/notifications",
            "/api/v1/notifications",
            "/settings/export.json",
            "/api/v1/me/export",
            "/c/test-condition/families",
            "/api/v1/communities/test-condition/families",
            "/c/test-condition/members",
            "/c/test-condition/audit",
            "/c/test-condition/audit.csv",
            "/c/test-condition/review",
        ]
        for url in reads:
            answer = await http.get(url)
            assert SECRET not in answer.text and "zzvariantzz" not in answer.text, url
            assert "Ana" not in answer.text or url.endswith(("/members", "/audit", "/audit.csv", "/review")), url
        families = (await http.get("/api/v1/communities/test-condition/families")).json()
        assert families["matches"] == [] and families["counts"] == {"opted_in": 2, "pending": 0, "connected": 1}
        live = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, ids[role]))
        refused = await live.join(room)
        assert (refused["type"], refused["code"]) == ("error", "not_found")
        assert all(SECRET not in str(frame) for frame in live.frames)
        await live.close()
    finally:
        await http.aclose()
    assert await db.fetchval("SELECT count(*) FROM conversation_messages") == 1


async def test_a_report_hands_site_admins_the_messages_up_to_it_and_never_leaders(
    server: LiveServer, db: asyncpg.Connection
) -> None:
    ids = await _world(db)
    conversation = ids["conversation"]
    room = f"dm:{conversation}"
    await _say(server, db, ids["ben"], room, f"Unkind words {SECRET}")
    ana = await _http(server, db, ids["ana"])
    try:
        assert (await ana.post(f"/api/v1/conversations/{conversation}/report", json={"reason": " "})).status_code == 400
        reported = await ana.post(f"/api/v1/conversations/{conversation}/report", json={"reason": "He was unkind"})
        assert reported.status_code == 204
    finally:
        await ana.aclose()
    await _say(server, db, ids["ben"], room, f"Sent after the report {LATER}")
    report_id = await db.fetchval("SELECT id FROM conversation_reports")
    notified = await db.fetch("SELECT user_id FROM notifications WHERE kind = 'conversation'")
    assert {row["user_id"] for row in notified} >= {ids["admin"]} and ids["leader"] not in {
        r["user_id"] for r in notified
    }

    admin = await _http(server, db, ids["admin"])
    leader = await _http(server, db, ids["leader"])
    try:
        page = await admin.get(f"/admin/conversation-reports/{report_id}")
        assert page.status_code == 200 and SECRET in page.text and "He was unkind" in page.text
        assert LATER not in page.text
        assert str(report_id) in (await admin.get("/admin/conversation-reports")).text
        for url in (f"/admin/conversation-reports/{report_id}", "/admin/conversation-reports"):
            assert (await leader.get(url)).status_code == 403
        assert SECRET not in (await leader.get("/notifications")).text
    finally:
        await admin.aclose()
        await leader.aclose()

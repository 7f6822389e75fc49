"""Hidden communities and invite links: unlisted and unreadable to everyone but members; joined through a
link (at once, or after a leader approves), every link revocable, every step audited and told."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from server.tokens import hash_token
from tests.factories import create_cast, create_session, create_thread, login
from tests.harness import LiveServer
from tests.live_client import LiveClient
from tests.test_templates import page_problems

SLUG = "test-condition"
_LINK = re.compile(r"/join/([A-Za-z0-9_-]{43})")


async def _hide(db: asyncpg.Connection, community_id: int) -> None:
    await db.execute("UPDATE communities SET visibility = 'hidden' WHERE id = $1", community_id)


@pytest.fixture
async def visitor(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        yield http


async def _make_link(client: httpx.AsyncClient, token: str, **form: str) -> str:
    made = await client.post(f"/c/{SLUG}/invites", data={"csrf_token": token, **form})
    assert made.status_code == 201, made.text
    found = _LINK.search(made.text)
    assert found, "the new link is shown on the page"
    return found.group(1)


async def test_a_hidden_community_does_not_exist_for_outsiders_on_any_door(
    client: httpx.AsyncClient, visitor: httpx.AsyncClient, server: LiveServer, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"], "Our week in hospital")
    await _hide(db, cast["community"])
    doors = [
        f"/c/{SLUG}", f"/c/{SLUG}/forum", f"/c/{SLUG}/t/{thread}", f"/c/{SLUG}/resources", f"/c/{SLUG}/tips",
        f"/c/{SLUG}/live", f"/c/{SLUG}/questions", f"/api/v1/communities/{SLUG}", f"/api/v1/communities/{SLUG}/threads",
    ]  # fmt: skip
    await login(client, "outsider")
    for reader in (visitor, client):
        for door in doors:
            answer = await reader.get(door)
            assert answer.status_code == 404, (door, answer.status_code)
            assert "Test Condition" not in answer.text and "hospital" not in answer.text, door
        for listing in ("/", "/?q=test", "/api/v1/communities?q=test", "/search?q=hospital", "/u/member"):
            assert "Test Condition" not in (await reader.get(listing)).text, listing
    # Nor in the live room: a socket is refused like for a room that does not exist.
    socket = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast["outsider"]))
    refused = await socket.join(f"{SLUG}/main")
    assert refused["type"] == "error" and refused["code"] == "not_found"
    await socket.close()
    # Its members see it as before.
    async with httpx.AsyncClient(base_url=server.base_url) as member:
        await login(member, "member")
        for door in doors:
            assert (await member.get(door)).status_code == 200, door
        assert "Hidden: this community is not listed anywhere" in (await member.get(f"/c/{SLUG}")).text


async def test_leaders_choose_hidden_and_their_leader_pages_stay_unknown_to_others(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    token = await login(client, "leader")
    saved = await client.post(f"/c/{SLUG}/reading", data={"visibility": "hidden", "csrf_token": token})
    assert saved.status_code == 303
    assert await db.fetchval("SELECT visibility FROM communities WHERE id = $1", cast["community"]) == "hidden"
    audit = await db.fetchrow("SELECT action, details FROM moderation_actions ORDER BY id DESC LIMIT 1")
    assert audit["action"] == "reading_rules" and audit["details"]["visibility"] == "hidden"
    async with httpx.AsyncClient(base_url=str(client.base_url)) as other:
        await login(other, "other_leader")
        # Not "only leaders can do that": for them, there is no such community.
        assert (await other.get(f"/c/{SLUG}/reading")).status_code == 404
        assert (await other.get(f"/c/{SLUG}/members")).status_code == 404


async def test_an_invite_link_lets_someone_join_a_hidden_community_until_it_is_revoked(
    client: httpx.AsyncClient, server: LiveServer, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await _hide(db, cast["community"])
    token = await login(client, "leader")
    link = await _make_link(client, token)
    # Only the hash is stored: the database alone gives no way in.
    stored = await db.fetchval("SELECT token_hash FROM community_invites")
    assert stored == hash_token(link) and link.encode() not in stored
    assert (await db.fetchval("SELECT action FROM moderation_actions ORDER BY id DESC LIMIT 1")) == "invite_created"

    async with httpx.AsyncClient(base_url=server.base_url) as outsider:
        # Someone not signed in sees the invitation and is asked to log in first.
        page = await outsider.get(f"/join/{link}")
        assert page.status_code == 200 and "Test Condition" in page.text and f"/login?next=/join/{link}" in page.text
        guest = await login(outsider, "outsider")
        joined = await outsider.post(f"/join/{link}", data={"csrf_token": guest})
        assert joined.status_code == 303 and joined.headers["location"] == f"/c/{SLUG}?notice=joined"
        assert (await outsider.get(f"/c/{SLUG}")).status_code == 200
    assert await db.fetchval(
        "SELECT count(*) FROM memberships WHERE community_id = $1 AND user_id = $2", cast["community"], cast["outsider"]
    )
    assert await db.fetchval("SELECT uses FROM community_invites") == 1

    invite_id = await db.fetchval("SELECT id FROM community_invites")
    revoked = await client.post(f"/c/{SLUG}/invites/{invite_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    async with httpx.AsyncClient(base_url=server.base_url) as latecomer:
        gone = await latecomer.get(f"/join/{link}")
        assert gone.status_code == 404 and "Test Condition" not in gone.text
        # A made-up link answers the same.
        assert (await latecomer.get("/join/" + "x" * 43)).status_code == 404


async def test_an_expired_link_lets_no_one_in(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    await _hide(db, cast["community"])
    token = await login(client, "leader")
    link = await _make_link(client, token, days="1")
    await db.execute("UPDATE community_invites SET expires_at = now() - interval '1 second'")
    async with httpx.AsyncClient(base_url=str(client.base_url)) as outsider:
        guest = await login(outsider, "outsider")
        assert (await outsider.post(f"/join/{link}", data={"csrf_token": guest})).status_code == 404
    assert not await db.fetchval(
        "SELECT count(*) FROM memberships WHERE community_id = $1 AND user_id = $2", cast["community"], cast["outsider"]
    )


async def test_a_link_that_needs_approval_makes_a_request_leaders_are_told_of_and_answer(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await _hide(db, cast["community"])
    token = await login(client, "leader")
    link = await _make_link(client, token, needs_approval="on")
    async with httpx.AsyncClient(base_url=str(client.base_url)) as outsider:
        guest = await login(outsider, "outsider")
        asked = await outsider.post(f"/join/{link}", data={"csrf_token": guest, "message": "Our daughter has CMS"})
        assert asked.status_code == 303
        waiting = await outsider.get(asked.headers["location"])
        assert "Your request was sent" in waiting.text
        # Not a member yet: the community is still unknown to them.
        assert (await outsider.get(f"/c/{SLUG}/forum")).status_code == 404
        # Asking again does not make a second request or tell the leaders twice.
        await outsider.post(f"/join/{link}", data={"csrf_token": guest, "message": "Our daughter has CMS, age 3"})
    assert await db.fetchval("SELECT count(*) FROM join_requests") == 1
    told = await db.fetch("SELECT user_id, data FROM notifications WHERE data->>'event' = 'join_requested'")
    assert [row["user_id"] for row in told] == [cast["leader"]]

    page = await client.get(f"/c/{SLUG}/reading")
    assert "Our daughter has CMS, age 3" in page.text
    # Every form on the page can be sent (its CSRF token is filled in).
    assert page_problems(page.text) == []
    request_id = await db.fetchval("SELECT id FROM join_requests")
    approved = await client.post(f"/c/{SLUG}/requests/{request_id}/approve", data={"csrf_token": token})
    assert approved.status_code == 303
    assert await db.fetchval(
        "SELECT count(*) FROM memberships WHERE community_id = $1 AND user_id = $2", cast["community"], cast["outsider"]
    )
    assert await db.fetchval("SELECT action FROM moderation_actions ORDER BY id DESC LIMIT 1") == "join_approved"
    assert await db.fetchval(
        "SELECT count(*) FROM notifications WHERE user_id = $1 AND data->>'event' = 'join_approved'", cast["outsider"]
    )
    # Answering twice is refused, not done twice.
    again = await client.post(f"/c/{SLUG}/requests/{request_id}/decline", data={"csrf_token": token})
    assert again.status_code == 409
    assert await db.fetchval("SELECT status FROM join_requests") == "approved"


async def test_a_declined_request_leaves_the_person_outside_and_tells_them(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await _hide(db, cast["community"])
    token = await login(client, "leader")
    link = await _make_link(client, token, needs_approval="on")
    async with httpx.AsyncClient(base_url=str(client.base_url)) as outsider:
        guest = await login(outsider, "outsider")
        await outsider.post(f"/join/{link}", data={"csrf_token": guest})
    request_id = await db.fetchval("SELECT id FROM join_requests")
    await client.post(f"/c/{SLUG}/requests/{request_id}/decline", data={"csrf_token": token})
    assert not await db.fetchval(
        "SELECT count(*) FROM memberships WHERE community_id = $1 AND user_id = $2", cast["community"], cast["outsider"]
    )
    assert await db.fetchval(
        "SELECT count(*) FROM notifications WHERE user_id = $1 AND data->>'event' = 'join_declined'", cast["outsider"]
    )


async def test_a_banned_member_cannot_come_back_through_a_link(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await _hide(db, cast["community"])
    token = await login(client, "leader")
    link = await _make_link(client, token)
    await db.execute("DELETE FROM memberships WHERE user_id = $1", cast["banned"])
    async with httpx.AsyncClient(base_url=str(client.base_url)) as banned:
        guest = await login(banned, "banned")
        refused = await banned.post(f"/join/{link}", data={"csrf_token": guest})
        assert refused.status_code == 403 and "removed from this community" in refused.text
    assert not await db.fetchval("SELECT count(*) FROM memberships WHERE user_id = $1", cast["banned"])


async def test_a_bad_expiry_comes_back_with_the_reason_and_makes_no_link(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    token = await login(client, "leader")
    refused = await client.post(f"/c/{SLUG}/invites", data={"csrf_token": token, "days": "forever"})
    assert refused.status_code == 400 and "between 1 and 365 days" in refused.text
    assert await db.fetchval("SELECT count(*) FROM community_invites") == 0


async def test_the_api_makes_follows_and_revokes_links(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    await _hide(db, cast["community"])
    await login(client, "leader")
    csrf = (await client.get("/api/v1/session")).json()["csrf_token"]
    made = await client.post(
        f"/api/v1/communities/{SLUG}/invites", json={"needs_approval": True, "days": 30}, headers={"x-csrf-token": csrf}
    )
    assert made.status_code == 201
    link = made.json()["url"].rsplit("/", 1)[1]
    listed = (await client.get(f"/api/v1/communities/{SLUG}/invites")).json()["invites"]
    assert [invite["id"] for invite in listed] == [made.json()["invite"]["id"]] and "url" not in listed[0]
    bad = await client.post(f"/api/v1/communities/{SLUG}/invites", json={"days": 0}, headers={"x-csrf-token": csrf})
    assert bad.status_code == 400 and "365" in bad.json()["message"]

    async with httpx.AsyncClient(base_url=str(client.base_url)) as outsider:
        await login(outsider, "outsider")
        outsider_csrf = (await outsider.get("/api/v1/session")).json()["csrf_token"]
        seen = (await outsider.get(f"/api/v1/invites/{link}")).json()
        assert seen["name"] == "Test Condition" and seen["needs_approval"] and not seen["member"]
        asked = await outsider.post(
            f"/api/v1/invites/{link}/join", json={"message": "Hello"}, headers={"x-csrf-token": outsider_csrf}
        )
        assert asked.json() == {"outcome": "asked", "slug": SLUG}
    waiting = (await client.get(f"/api/v1/communities/{SLUG}/join-requests")).json()["requests"]
    assert [(item["username"], item["message"]) for item in waiting] == [("outsider", "Hello")]
    approved = await client.post(
        f"/api/v1/communities/{SLUG}/join-requests/{waiting[0]['id']}/approve", headers={"x-csrf-token": csrf}
    )
    assert approved.status_code == 200
    revoked = await client.delete(
        f"/api/v1/communities/{SLUG}/invites/{made.json()['invite']['id']}", headers={"x-csrf-token": csrf}
    )
    assert revoked.status_code == 204
    assert (await client.get(f"/api/v1/invites/{link}")).status_code == 404

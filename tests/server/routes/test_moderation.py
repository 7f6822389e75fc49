"""Leaders moderate members: mutes with reason and end, bans that close sockets, slow mode, the audit log."""

from __future__ import annotations

import csv
import io

import asyncpg
import httpx
import pytest

from channels.protocol import CloseCode
from server import auth
from tests.factories import add_member, create_community, create_session, create_user, csrf_from
from tests.harness import LiveServer
from tests.live_client import LiveClient

ROOM = "test-condition/main"


@pytest.fixture
async def community(db: asyncpg.Connection) -> int:
    return await create_community(db)


async def _as(
    client: httpx.AsyncClient,
    db: asyncpg.Connection,
    username: str,
    community: int | None,
    role: str = "member",
    admin: bool = False,
) -> str:
    existing = await db.fetchval("SELECT id FROM users WHERE username = $1", username)
    user_id = existing or await create_user(db, username, admin=admin)
    if community is not None and not existing:
        await add_member(db, community, user_id, role)
    session = await create_session(db, user_id)
    client.cookies.set(auth.SESSION_COOKIE, session)
    return session


async def _post(client: httpx.AsyncClient, path: str, data: dict[str, str]) -> httpx.Response:
    token = csrf_from((await client.get("/login")).text)
    return await client.post(path, data={**data, "csrf_token": token})


async def _counts(db: asyncpg.Connection) -> tuple[int, int, int]:
    row = await db.fetchrow(
        "SELECT (SELECT count(*) FROM sanctions) s, (SELECT count(*) FROM moderation_actions) a, (SELECT sum(slow_mode_seconds) FROM rooms) r"
    )
    return (row["s"], row["a"], row["r"])


async def test_a_leader_mutes_a_member_who_then_sees_the_reason_and_end_time_when_sending(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection, community: int
) -> None:
    lucia_session = await _as(client, db, "lucia", community)
    await _as(client, db, "amara", community, "leader")
    response = await _post(
        client, "/c/test-condition/members/lucia/mute", {"duration": "1h", "reason": "Please take a breath"}
    )
    assert response.status_code == 303
    entry = await db.fetchrow("SELECT action, reason, details FROM moderation_actions")
    assert entry["action"] == "mute" and entry["reason"] == "Please take a breath" and entry["details"]["ends_at"]

    muted = await LiveClient.connect(server.ws_url, server.base_url, lucia_session)
    await muted.join(ROOM)
    refused = await muted.say(ROOM, "hello?")
    assert refused["type"] == "error" and refused["code"] == "muted"
    assert "Please take a breath" in refused["message"] and "until" in refused["message"]
    # It ends by itself: once the time has passed, sending works again.
    await db.execute("UPDATE sanctions SET ends_at = now() - interval '1 second'")
    assert (await muted.say(ROOM, "back again"))["type"] == "ack"


async def test_a_ban_closes_the_members_sockets_and_refuses_their_sends(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection, community: int
) -> None:
    session = await _as(client, db, "troll", community)
    socket = await LiveClient.connect(server.ws_url, server.base_url, session)
    await socket.join(ROOM)
    await _as(client, db, "amara", community, "leader")
    assert (await _post(client, "/c/test-condition/members/troll/ban", {"reason": "Spam links"})).status_code == 303
    assert await socket.wait_closed(timeout=2) == CloseCode.LOGGED_OUT
    again = await LiveClient.connect(server.ws_url, server.base_url, session)
    answer = await again.join(ROOM)
    assert answer["type"] == "error" and answer["code"] == "banned"
    # Unbanned, the member can take part again.
    assert (await _post(client, "/c/test-condition/members/troll/unban", {})).status_code == 303
    assert (await again.join(ROOM))["type"] == "joined"
    assert [row["action"] for row in await db.fetch("SELECT action FROM moderation_actions ORDER BY id")] == [
        "ban",
        "unban",
    ]


@pytest.mark.parametrize("who", ["anonymous", "member", "leader_elsewhere", "peer_leader", "admin_target"])
async def test_only_leaders_moderate_and_never_someone_of_equal_or_higher_role(
    client: httpx.AsyncClient, db: asyncpg.Connection, community: int, who: str
) -> None:
    other = await create_community(db, "other-condition", "Other")
    target = "lucia"
    await _as(client, db, "lucia", community)
    if who == "member":
        await _as(client, db, "plain", community)
    elif who == "leader_elsewhere":
        await _as(client, db, "elsewhere", other, "leader")
    elif who == "peer_leader":
        await _as(client, db, "peer", community, "leader")
        await _as(client, db, "amara", community, "leader")
        target = "peer"
    elif who == "admin_target":
        await _as(client, db, "siteadmin", None, admin=True)
        await _as(client, db, "amara", community, "leader")
        target = "siteadmin"
    else:
        client.cookies.clear()
    before = await _counts(db)
    for verb, data in [
        ("mute", {"duration": "1h", "reason": "x"}),
        ("ban", {"reason": "x"}),
        ("unmute", {}),
        ("unban", {}),
    ]:
        response = await _post(client, f"/c/test-condition/members/{target}/{verb}", data)
        assert response.status_code in {401, 403}, (verb, response.status_code)
    slow = await _post(client, "/c/test-condition/live/main/slow-mode", {"seconds": "30"})
    if who in {"peer_leader", "admin_target"}:
        assert slow.status_code == 303  # a leader of this community may set slow mode
        assert (await _counts(db))[0] == before[0]
    else:
        assert slow.status_code in {401, 403}
        assert await _counts(db) == before
    for page in ["/c/test-condition/members", "/c/test-condition/audit", "/c/test-condition/audit.csv"]:
        status = (await client.get(page)).status_code
        assert status == (200 if who in {"peer_leader", "admin_target"} else 403 if who != "anonymous" else 401), page


async def test_a_mute_needs_a_reason_and_a_valid_duration(
    client: httpx.AsyncClient, db: asyncpg.Connection, community: int
) -> None:
    await _as(client, db, "lucia", community)
    await _as(client, db, "amara", community, "leader")
    no_reason = await _post(client, "/c/test-condition/members/lucia/mute", {"duration": "1h", "reason": "  "})
    assert no_reason.status_code == 400 and "Please give a reason" in no_reason.text
    bad_duration = await _post(
        client, "/c/test-condition/members/lucia/mute", {"duration": "forever-ish", "reason": "ok"}
    )
    assert bad_duration.status_code == 400
    assert await db.fetchval("SELECT count(*) FROM sanctions") == 0


async def test_slow_mode_is_set_by_a_leader_and_logged_with_who_and_when(
    client: httpx.AsyncClient, db: asyncpg.Connection, community: int
) -> None:
    await _as(client, db, "amara", community, "leader")
    assert (await _post(client, "/c/test-condition/live/main/slow-mode", {"seconds": "30"})).status_code == 303
    assert await db.fetchval("SELECT slow_mode_seconds FROM rooms") == 30
    entry = await db.fetchrow(
        "SELECT a.action, a.details, a.created_at, u.username FROM moderation_actions a JOIN users u ON u.id = a.actor_id"
    )
    assert entry["action"] == "slow_mode" and entry["details"]["seconds"] == 30 and entry["username"] == "amara"
    assert entry["created_at"] is not None


async def test_the_audit_log_exports_as_csv_without_spreadsheet_formulas(
    client: httpx.AsyncClient, db: asyncpg.Connection, community: int
) -> None:
    await _as(client, db, "lucia", community)
    await _as(client, db, "amara", community, "leader")
    await _post(
        client, "/c/test-condition/members/lucia/mute", {"duration": "15m", "reason": '=HYPERLINK("http://evil")'}
    )
    page = await client.get("/c/test-condition/audit")
    assert page.status_code == 200 and "mute" in page.text
    exported = await client.get("/c/test-condition/audit.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0][:4] == ["id", "when_utc", "who", "action"]
    assert rows[1][2:5] == ["amara", "mute", "lucia"]
    assert rows[1][7].startswith("'=")

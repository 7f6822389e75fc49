"""Per-community pseudonyms: a member posts and chats under a name chosen for one community, and no
response (HTML, JSON, live frames, CSV, notifications, search, profile) lets anyone else see the
account behind it; leaders and site admins can reveal it for moderation, and each reveal is audited."""

from __future__ import annotations

import json

import asyncpg
import httpx

from tests.factories import add_member, create_cast, create_post, create_session, create_thread, create_user, login
from tests.harness import LiveServer
from tests.live_client import LiveClient

SLUG = "test-condition"
ROOM = f"{SLUG}/main"
# What would give the account away: its username and display name (and its id in live frames).
ACCOUNT = "mariaaccount"
REAL_NAME = "Maria Realname"
PSEUDONYM = "Rose Garden"


async def _pseudonymous_member(client: httpx.AsyncClient, db: asyncpg.Connection, cast: dict[str, int]) -> int:
    maria = await create_user(db, ACCOUNT, display_name=REAL_NAME)
    await add_member(db, cast["community"], maria)
    # Maria's other community, which nobody in this one should learn about.
    other = await db.fetchval("SELECT id FROM communities WHERE slug = 'other-condition'")
    await add_member(db, other, maria)
    await db.execute("UPDATE users SET show_communities = true, show_posts = true WHERE id = $1", maria)
    token = await login(client, ACCOUNT)
    chosen = await client.post(f"/c/{SLUG}/pseudonym", data={"pseudonym": PSEUDONYM, "csrf_token": token})
    assert chosen.status_code == 303
    return maria


def _leaks(text: str) -> list[str]:
    return [word for word in (ACCOUNT, REAL_NAME) if word.lower() in text.lower()]


async def test_a_pseudonym_never_lets_the_account_out_on_any_door(
    client: httpx.AsyncClient, server: LiveServer, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    maria = await _pseudonymous_member(client, db, cast)
    token = await login(client, ACCOUNT)
    # Maria writes everywhere: a thread mentioning a member, a reply quoting a post, an edit, a reaction,
    # a tip, a flag, and chat in the live room (where she is present and typing).
    leader_thread = await create_thread(db, cast["community"], cast["leader"], "Welcome, everyone")
    leader_post = await create_post(db, leader_thread, cast["leader"], "Tell us about your week.")
    started = await client.post(
        f"/c/{SLUG}/forum/new",
        data={"title": "Breathing at night", "body": "Hello @member, how do you manage?", "csrf_token": token},
    )
    assert started.status_code == 303
    thread = int(started.headers["location"].rsplit("/", 1)[1])
    first_post = await db.fetchval("SELECT min(id) FROM posts WHERE thread_id = $1", thread)
    await client.post(
        f"/c/{SLUG}/posts/{first_post}/edit", data={"body": "Hello @member, how do you cope?", "csrf_token": token}
    )
    replied = await client.post(
        f"/c/{SLUG}/t/{leader_thread}/reply",
        data={"body": "A hard week, thank you.", "reply_to_post_id": str(leader_post), "csrf_token": token},
    )
    assert replied.status_code == 303
    await client.post(f"/c/{SLUG}/posts/{leader_post}/react", data={"kind": "thanks", "csrf_token": token})
    await client.post(
        f"/c/{SLUG}/tips", data={"name": "Rest breaks", "description": "Short and often.", "csrf_token": token}
    )
    member_post = await create_post(db, leader_thread, cast["member"], "Buy this miracle cure.")
    await client.post(f"/c/{SLUG}/posts/{member_post}/flag", data={"reason": "spam", "note": "", "csrf_token": token})
    maria_socket = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, maria))
    assert (await maria_socket.join(ROOM))["type"] == "joined"
    assert (await maria_socket.say(ROOM, "Good evening from the garden"))["type"] == "ack"

    watcher = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast["member"]))
    assert (await watcher.join(ROOM))["type"] == "joined"
    await maria_socket.send({"type": "typing", "room": ROOM})
    await maria_socket.say(ROOM, "Still here")
    await watcher.wait_for(lambda frame: frame.get("type") == "message" and frame.get("body") == "Still here")

    pages = [
        f"/c/{SLUG}", f"/c/{SLUG}/forum", f"/c/{SLUG}/t/{thread}", f"/c/{SLUG}/t/{leader_thread}",
        f"/c/{SLUG}/posts/{first_post}/history", f"/c/{SLUG}/tips", f"/c/{SLUG}/live",
        f"/api/v1/communities/{SLUG}", f"/api/v1/communities/{SLUG}/threads", f"/api/v1/threads/{thread}",
        f"/api/v1/threads/{leader_thread}", f"/api/v1/communities/{SLUG}/tips", "/search?q=breathing",
        "/api/v1/search?q=breathing",
    ]  # fmt: skip
    leader_pages = [f"/c/{SLUG}/members", f"/c/{SLUG}/audit", f"/c/{SLUG}/audit.csv", f"/c/{SLUG}/review"]
    found: list[tuple[str, str, list[str]]] = []
    shown = 0
    for reader in ("anonymous", "member", "leader", "siteadmin"):
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            if reader != "anonymous":
                await login(http, reader)
            paths = pages + (["/notifications", "/api/v1/notifications"] if reader == "member" else [])
            paths += [*leader_pages, "/admin/flags"] if reader in ("leader", "siteadmin") else []
            for path in paths:
                answer = await http.get(path)
                if _leaks(answer.text):
                    found.append((reader, path, _leaks(answer.text)))
                shown += PSEUDONYM in answer.text
    assert found == []
    # The pseudonym is what people see (positive control: the checks above read real pages).
    assert shown > 20
    # Her profile (which of course shows her account) leads nowhere near this community or what she
    # wrote in it, though she chose to show her communities and posts.
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        await login(http, "member")
        profile = (await http.get(f"/api/v1/users/{ACCOUNT}")).json()
        assert [c["slug"] for c in profile["communities"]] == ["other-condition"] and profile["recent_posts"] == []
        page = (await http.get(f"/u/{ACCOUNT}")).text
        assert "Test Condition" not in page and "Breathing at night" not in page and PSEUDONYM not in page
    # Live frames carry the pseudonym and an alias, never the account's names or id.
    frames = [frame for frame in watcher.frames if frame.get("type") in {"message", "presence", "typing"}]
    text = json.dumps(frames)
    assert _leaks(text) == [] and PSEUDONYM in text
    ids = {frame["author"]["id"] for frame in frames if frame.get("type") == "message" and frame.get("author")}
    ids |= {member["id"] for frame in frames if frame.get("type") == "presence" for member in frame.get("members", [])}
    assert maria not in ids and any(number < 0 for number in ids)
    # The notification of her mention names her by the pseudonym.
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        await login(http, "member")
        notes = (await http.get("/api/v1/notifications")).json()
        assert any(PSEUDONYM in str(item) for item in notes["notifications"])
    for socket in (maria_socket, watcher):
        await socket.close()


async def test_a_leader_reveals_the_account_and_the_look_is_audited(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    maria = await _pseudonymous_member(client, db, cast)
    alias = await db.fetchval(
        "SELECT alias FROM memberships WHERE user_id = $1 AND community_id = $2", maria, cast["community"]
    )
    async with httpx.AsyncClient(base_url=str(client.base_url)) as leader:
        token = await login(leader, "leader")
        members = (await leader.get(f"/c/{SLUG}/members")).text
        assert PSEUDONYM in members and ACCOUNT not in members
        revealed = await leader.post(f"/c/{SLUG}/members/~{alias}/reveal", data={"csrf_token": token})
        assert revealed.status_code == 200 and f"@{ACCOUNT}" in revealed.text
        entry = await db.fetchrow(
            "SELECT action, actor_id, target_user_id FROM moderation_actions ORDER BY id DESC LIMIT 1"
        )
        assert entry is not None and tuple(entry) == ("pseudonym_revealed", cast["leader"], maria)
        # The log itself names the reveal without spelling out the account for every other leader.
        audit = (await leader.get(f"/c/{SLUG}/audit")).text
        assert "pseudonym_revealed" in audit and ACCOUNT not in audit
        # Mute works on the pseudonym's handle, without the username ever in the page.
        muted = await leader.post(
            f"/c/{SLUG}/members/~{alias}/mute", data={"duration": "1h", "reason": "Heated", "csrf_token": token}
        )
        assert muted.status_code == 303
        assert await db.fetchval("SELECT count(*) FROM sanctions WHERE user_id = $1 AND kind = 'mute'", maria) == 1
    async with httpx.AsyncClient(base_url=str(client.base_url)) as member:
        await login(member, "member")
        csrf = (await member.get("/api/v1/session")).json()["csrf_token"]
        refused = await member.post(
            f"/api/v1/communities/{SLUG}/members/~{alias}/reveal", headers={"x-csrf-token": csrf}
        )
        assert refused.status_code == 403 and ACCOUNT not in refused.text


async def test_a_pseudonym_is_checked_and_can_be_dropped(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    maria = await _pseudonymous_member(client, db, cast)
    token = await login(client, ACCOUNT)
    for name, status, words in (
        ("leader", 409, "username here"),
        (ACCOUNT, 400, "show who you are"),
        ("<b>x</b>", 400, "2 to 40"),
        ("x" * 41, 400, "2 to 40"),
    ):
        refused = await client.post(f"/c/{SLUG}/pseudonym", data={"pseudonym": name, "csrf_token": token})
        assert refused.status_code == status and words in refused.text, name
    # Another member cannot take the same name here (whatever its case).
    async with httpx.AsyncClient(base_url=str(client.base_url)) as other:
        other_token = await login(other, "member")
        taken = await other.post(
            f"/c/{SLUG}/pseudonym", data={"pseudonym": PSEUDONYM.upper(), "csrf_token": other_token}
        )
        assert taken.status_code == 409 and "already uses" in taken.text
    # The API reads and drops it; her export lists it while it is set.
    csrf = (await client.get("/api/v1/session")).json()["csrf_token"]
    export = (await client.get("/api/v1/me/export")).json()
    assert {m["community_slug"]: m["pseudonym"] for m in export["memberships"]}[SLUG] == PSEUDONYM
    dropped = await client.put(
        f"/api/v1/communities/{SLUG}/pseudonym", json={"pseudonym": None}, headers={"x-csrf-token": csrf}
    )
    assert dropped.status_code == 200 and dropped.json() == {"pseudonym": None}
    assert (
        await db.fetchval(
            "SELECT pseudonym FROM memberships WHERE user_id = $1 AND community_id = $2", maria, cast["community"]
        )
        is None
    )


async def test_choosing_a_name_sends_open_sockets_to_join_again_under_it(
    client: httpx.AsyncClient, server: LiveServer, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    maria = await create_user(db, ACCOUNT, display_name=REAL_NAME)
    await add_member(db, cast["community"], maria)
    socket = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, maria))
    assert (await socket.join(ROOM))["type"] == "joined"
    token = await login(client, ACCOUNT)
    await client.post(f"/c/{SLUG}/pseudonym", data={"pseudonym": PSEUDONYM, "csrf_token": token})
    # Closed to resume (not as removed), so presence never goes on showing the old name.
    assert await socket.wait_closed() == 4008
    again = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, maria))
    assert (await again.join(ROOM))["type"] == "joined"
    presence = await again.wait_for(lambda frame: frame.get("type") == "presence")
    assert [member["display_name"] for member in presence["members"]] == [PSEUDONYM]
    await again.close()

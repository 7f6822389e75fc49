"""Private conversations over /ws (room "dm:<id>"): acked after commit, live both ways, resumable without gaps or
duplicates, idempotent by client id, notified when the other is away, ended live by a block; refused to all others."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from tests.factories import (
    add_member,
    create_community,
    create_conversation,
    create_session,
    create_user,
    login,
    post_form,
)
from tests.harness import LiveServer
from tests.live_client import LiveClient


async def _conversation(db: asyncpg.Connection) -> dict[str, int]:
    community = await create_community(db)
    ids = {"community": community}
    for name in ("ana", "ben", "leader", "admin", "outsider"):
        ids[name] = await create_user(db, name, admin=name == "admin")
    for name in ("ana", "ben"):
        await add_member(db, community, ids[name])
    await add_member(db, community, ids["leader"], "leader")
    ids["conversation"] = await create_conversation(db, community, ids["ana"], ids["ben"])
    return ids


async def _client(server: LiveServer, db: asyncpg.Connection, user_id: int) -> LiveClient:
    return await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, user_id))


async def test_a_message_is_acked_after_commit_and_reaches_the_other_participant_live(
    server: LiveServer, db: asyncpg.Connection
) -> None:
    ids = await _conversation(db)
    room = f"dm:{ids['conversation']}"
    ana, ben = await _client(server, db, ids["ana"]), await _client(server, db, ids["ben"])
    assert (await ana.join(room))["type"] == "joined"
    joined = await ben.join(room)
    assert (joined["type"], joined["head_seq"], joined["user_id"]) == ("joined", 0, ids["ben"])

    ack = await ana.say(room, "Bonjour, nous aussi DOK7", client_id="c-1")

    assert (ack["type"], ack["seq"]) == ("ack", 1)
    assert await db.fetchval("SELECT body FROM conversation_messages WHERE seq = 1") == "Bonjour, nous aussi DOK7"
    got = await ben.wait_for(lambda f: f["type"] == "message" and f["room"] == room)
    assert (got["seq"], got["body"], got["author"]["display_name"]) == (1, "Bonjour, nous aussi DOK7", "Ana")
    back = await ben.say(room, "Enchantée !")
    assert back["seq"] == 2
    assert (await ana.wait_for(lambda f: f["type"] == "message" and f["seq"] == 2))["body"] == "Enchantée !"
    await ana.close()
    await ben.close()


async def test_the_same_client_id_sent_twice_is_one_message(server: LiveServer, db: asyncpg.Connection) -> None:
    ids = await _conversation(db)
    room = f"dm:{ids['conversation']}"
    ana = await _client(server, db, ids["ana"])
    await ana.join(room)
    first = await ana.say(room, "Once", client_id="same")
    again = await ana.say(room, "Once", client_id="same")
    assert first["seq"] == again["seq"] == 1
    other = await ana.say(room, "Other words", client_id="same")
    assert other["type"] == "error" and other["code"] == "bad_request" and "already used" in other["message"]
    assert await db.fetchval("SELECT count(*) FROM conversation_messages") == 1
    assert await db.fetchval("SELECT last_seq FROM family_connections") == 1
    await ana.close()


async def test_a_resume_after_since_replays_every_missed_message_once_in_order(
    server: LiveServer, db: asyncpg.Connection
) -> None:
    ids = await _conversation(db)
    room = f"dm:{ids['conversation']}"
    ana = await _client(server, db, ids["ana"])
    await ana.join(room)
    await ana.say(room, "one")
    ben = await _client(server, db, ids["ben"])
    joined = await ben.join(room)
    epoch = joined["epoch"]
    assert ben.seqs(room) == [1]
    await ben.close()
    for body in ("two", "three", "four"):
        await ana.say(room, body)

    ben = await _client(server, db, ids["ben"])
    resumed = await ben.join(room, since=1, epoch=epoch)
    assert resumed["head_seq"] == 4
    await ben.wait_for(lambda f: f["type"] == "message" and f["seq"] == 4)
    assert ben.seqs(room) == [2, 3, 4]
    await ana.say(room, "five")
    await ben.wait_for(lambda f: f["type"] == "message" and f["seq"] == 5)
    assert ben.seqs(room) == [2, 3, 4, 5]
    assert (await ben.join(room, since=99, epoch=epoch))["reason"] == "ahead_of_head"
    assert (await ben.join(room, since=1, epoch="another"))["reason"] == "epoch_changed"
    await ana.close()
    await ben.close()


async def _both_present_and_one_said(
    server: LiveServer, db: asyncpg.Connection
) -> tuple[dict[str, int], str, LiveClient, LiveClient]:
    """Ana and Ben both have the conversation open, and Ana said "You are here" while Ben was present."""
    ids = await _conversation(db)
    room = f"dm:{ids['conversation']}"
    ana, ben = await _client(server, db, ids["ana"]), await _client(server, db, ids["ben"])
    await ana.join(room)
    await ben.join(room)
    await ben.wait_for(lambda f: f["type"] == "presence")
    await ana.say(room, "You are here")
    return ids, room, ana, ben


async def test_the_other_is_notified_of_new_messages_only_while_away_and_once(
    server: LiveServer, db: asyncpg.Connection
) -> None:
    ids, room, ana, ben = await _both_present_and_one_said(server, db)
    assert await db.fetchval("SELECT count(*) FROM notifications WHERE user_id = $1", ids["ben"]) == 0
    await ben.close()
    await ana.wait_for(lambda f: f["type"] == "presence_change" and f["left"])

    await ana.say(room, "Are you there?")
    await ana.say(room, "Write when you can")

    notes = await db.fetch("SELECT kind, data FROM notifications WHERE user_id = $1", ids["ben"])
    assert [note["kind"] for note in notes] == ["conversation"]  # one until Ben reads it
    assert "Are you there" not in str(notes[0]["data"])  # never what was said
    await ana.close()


async def test_unread_counts_only_what_arrived_while_away_and_a_join_reads_it(
    server: LiveServer, db: asyncpg.Connection
) -> None:
    ids, room, ana, ben = await _both_present_and_one_said(server, db)
    async with _api(server, db, ids["ben"]) as http:
        assert [c["unread"] for c in (await http.get("/api/v1/conversations")).json()] == [0]
        await ben.close()
        await ana.wait_for(lambda f: f["type"] == "presence_change" and f["left"])
        await ana.say(room, "Are you there?")
        await ana.say(room, "Write when you can")
        assert [c["unread"] for c in (await http.get("/api/v1/conversations")).json()] == [2]
        back = await _client(server, db, ids["ben"])
        await back.join(room, since=1)
        assert [c["unread"] for c in (await http.get("/api/v1/conversations")).json()] == [0]
    async with _api(server, db, ids["ana"]) as http:  # her own messages are never unread to her
        assert [c["unread"] for c in (await http.get("/api/v1/conversations")).json()] == [0]
    await ana.close()
    await back.close()


@contextlib.asynccontextmanager
async def _api(server: LiveServer, db: asyncpg.Connection, user_id: int) -> AsyncIterator[httpx.AsyncClient]:
    session = await create_session(db, user_id)
    async with httpx.AsyncClient(base_url=server.base_url, cookies={"kindred_session": session}) as http:
        http.headers["x-csrf-token"] = (await http.get("/api/v1/session")).json()["csrf_token"]
        yield http


async def test_a_block_ends_the_conversation_live_both_ways_and_refuses_new_requests(
    server: LiveServer, db: asyncpg.Connection
) -> None:
    ids = await _conversation(db)
    conversation = ids["conversation"]
    room = f"dm:{conversation}"
    ana, ben = await _client(server, db, ids["ana"]), await _client(server, db, ids["ben"])
    await ana.join(room)
    await ben.join(room)
    async with _api(server, db, ids["ben"]) as http:
        assert (await http.post(f"/api/v1/conversations/{conversation}/block")).status_code == 204

    ended = await ana.wait_for(lambda f: f["type"] == "error" and f.get("ref") == room)
    assert ended["code"] == "forbidden"
    refused = await ana.say(room, "Why?")
    assert (refused["type"], refused["code"]) == ("error", "not_found")
    assert (await ben.say(room, "Bye"))["type"] == "error"
    assert await db.fetchval("SELECT count(*) FROM conversation_messages") == 0
    assert (await ana.join(room))["code"] == "not_found"
    async with _api(server, db, ids["ana"]) as http:
        assert (await http.get(f"/api/v1/conversations/{conversation}/messages")).status_code == 404
        await db.execute("INSERT INTO family_facts (community_id, user_id, gene) SELECT $1, unnest($2::bigint[]), 'DOK7'",
                         ids["community"], [ids["ana"], ids["ben"]])  # fmt: skip
        again = await http.post("/api/v1/communities/test-condition/families/connections", json={"handle": "ben"})
        assert again.status_code == 403
    await ana.close()
    await ben.close()


@pytest.mark.parametrize("role", ["leader", "admin", "outsider"])
async def test_no_one_else_can_join_or_write_in_a_conversation(
    server: LiveServer, db: asyncpg.Connection, role: str
) -> None:
    ids = await _conversation(db)
    room = f"dm:{ids['conversation']}"
    ana = await _client(server, db, ids["ana"])
    await ana.join(room)
    await ana.say(room, "Only for Ben")
    other = await _client(server, db, ids[role])

    refused, nothing = await other.join(room), await other.join("dm:999999")
    assert (refused["type"], refused["code"]) == (nothing["type"], nothing["code"]) == ("error", "not_found")
    assert refused["message"] == nothing["message"]
    sent = await other.say(room, "Let me in")
    assert sent["type"] == "error"
    assert not other.messages(room)
    assert all("Only for Ben" not in str(frame) for frame in other.frames)
    assert await db.fetchval("SELECT count(*) FROM conversation_messages") == 1
    await ana.close()
    await other.close()


async def test_a_ban_in_the_community_closes_the_banned_participants_conversation_socket(
    server: LiveServer, db: asyncpg.Connection
) -> None:
    ids = await _conversation(db)
    room = f"dm:{ids['conversation']}"
    ben = await _client(server, db, ids["ben"])
    await ben.join(room)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        await login(http, "leader")
        banned = await post_form(http, "/c/test-condition/members/ben/ban", {"reason": "Spam"}, page="/login")
        assert banned.status_code == 303
    assert await ben.wait_closed() == 4001
    ben = await _client(server, db, ids["ben"])
    assert (await ben.join(room))["code"] == "not_found"
    await ben.close()


async def test_a_participant_under_a_pseudonym_is_known_only_by_it(server: LiveServer, db: asyncpg.Connection) -> None:
    ids = await _conversation(db)
    await db.execute(
        "UPDATE memberships SET pseudonym = 'Rose', alias = 4242 WHERE user_id = $1 AND community_id = $2",
        ids["ana"], ids["community"],
    )  # fmt: skip
    room = f"dm:{ids['conversation']}"
    ana, ben = await _client(server, db, ids["ana"]), await _client(server, db, ids["ben"])
    assert (await ana.join(room))["user_id"] == -4242
    await ben.join(room)
    await ana.say(room, "Hello from Rose")
    got = await ben.wait_for(lambda f: f["type"] == "message" and f["room"] == room)
    assert got["author"] == {"id": -4242, "username": "", "display_name": "Rose", "badge": None}
    async with _api(server, db, ids["ben"]) as http:
        page = await http.get(f"/conversations/{ids['conversation']}")
        listed = await http.get("/api/v1/conversations")
    for text in [page.text, listed.text, *map(str, ben.frames)]:
        assert re.search(r"\bana\b", text, re.IGNORECASE) is None, text[:200]  # neither username nor display name
    assert "Rose" in page.text and listed.json()[0]["other_name"] == "Rose"
    await ana.close()
    await ben.close()


async def test_a_community_mute_holds_in_the_members_conversations_and_a_room_mute_does_not(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    ids = await _conversation(db)
    room = f"dm:{ids['conversation']}"
    main = await db.fetchval("SELECT id FROM rooms WHERE community_id = $1", ids["community"])
    await db.execute(
        """INSERT INTO sanctions (community_id, user_id, kind, reason, ends_at, room_id)
           VALUES ($1, $2, 'mute', 'Only in the room', now() + interval '1 hour', $3)""",
        ids["community"], ids["ana"], main,
    )  # fmt: skip
    await login(client, "ana")
    page = (await client.get(f"/conversations/{ids['conversation']}")).text
    assert 'id="composer-muted" role="status" hidden></p>' in page and 'data-muted="1"' not in page
    ana = await _client(server, db, ids["ana"])
    await ana.send({"type": "watch", "topic": "member:me"})
    await ana.wait_for(lambda f: f["type"] == "watching")
    joined = await ana.join(room)
    assert joined["type"] == "joined" and "muted" not in joined  # a room's mute does not hold here
    assert (await ana.say(room, "Still here"))["type"] == "ack"

    token = await login(client, "leader")
    muted = await client.post(
        "/c/test-condition/members/ana/mute", data={"duration": "24h", "reason": "Spam links", "csrf_token": token}
    )
    assert muted.status_code == 303
    frame = await ana.wait_for(lambda f: f["type"] == "muted")
    assert (frame["community"], frame.get("room"), frame["reason"]) == ("test-condition", None, "Spam links")
    refused = await ana.say(room, "Buy now")
    assert (refused["type"], refused["code"]) == ("error", "muted")
    assert "Reason: Spam links" in refused["message"]
    await login(client, "ana")
    page = (await client.get(f"/conversations/{ids['conversation']}")).text
    assert 'id="composer-muted" role="status">You are muted in this community until' in page
    assert 'data-muted="1"' in page and "Reason: Spam links" in page
    # A page that was offline meanwhile hears it on joining again.
    again = await _client(server, db, ids["ana"])
    ends_at = await db.fetchval("SELECT ends_at FROM sanctions WHERE room_id IS NULL AND lifted_at IS NULL")
    told = (await again.join(room))["muted"]
    assert told == {"reason": "Spam links", "until": ends_at.isoformat().replace("+00:00", "Z")}
    await again.close()
    await ana.close()

"""The /ws frames that change a sent message (server/routes/live_messages.py), and replies and mentions on send:
over real websockets, Postgres and Redis on one process; tests/server/routes/test_live_processes.py has two."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from server.ratelimit import REACTIONS_PER_USER
from tests.factories import add_member, add_sanction, create_community, create_session, create_user
from tests.harness import LiveServer
from tests.live_client import Frame, LiveClient

ROOM = "test-condition/main"


async def _member(db: asyncpg.Connection, username: str, role: str = "member", **options: str) -> str:
    community = await db.fetchval("SELECT id FROM communities WHERE slug = 'test-condition'")
    user_id = await create_user(db, username, **options)  # type: ignore[arg-type]
    await add_member(db, community, user_id, role)
    return await create_session(db, user_id)


@pytest.fixture
async def community(db: asyncpg.Connection) -> int:
    return await create_community(db)


async def _joined(server: LiveServer, session: str | None, since: int | None = None) -> LiveClient:
    client = await LiveClient.connect(server.ws_url, server.base_url, session)
    assert (await client.join(ROOM, since=since))["type"] == "joined"
    return client


async def _answer(client: LiveClient, frame: Frame, kinds: set[str]) -> Frame:
    """Send a frame and wait for the first frame of these kinds (or an error) after it."""
    start = len(client.frames)
    await client.send(frame)
    return await client.wait_for(lambda f: f["type"] in kinds | {"error"}, start=start)


async def _pong(client: LiveClient, start: int | None = None) -> list[Frame]:
    """Every frame from `start` (default: now) up to the answer of a ping (frames of one socket come in order)."""
    start = len(client.frames) if start is None else start
    asked = len(client.frames)
    await client.send({"type": "ping"})
    await client.wait_for(lambda f: f["type"] == "pong", start=asked)
    return client.frames[start:]


# --- replies ------------------------------------------------------------------------------------


async def test_a_reply_quotes_the_original_with_its_shown_author_for_everyone(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    amara = await _joined(server, await _member(db, "amara", display_name="Amara Okafor"))
    lucia = await _joined(server, await _member(db, "lucia"))
    await amara.say(ROOM, "Has anyone tried the new physio exercises?")
    start = len(amara.frames)
    await lucia.send({"type": "send", "room": ROOM, "client_id": "r1", "body": "Yes, twice a day.", "reply_to": 1})
    reply = await amara.wait_for(lambda f: f["type"] == "message" and f["seq"] == 2, start=start)
    assert reply["reply_to"] == {
        "seq": 1,
        "author": "Amara Okafor",
        "excerpt": "Has anyone tried the new physio exercises?",
    }
    # A reader arriving later gets the same quote from history.
    late = await _joined(server, await _member(db, "late"))
    await late.wait_for(lambda f: f["type"] == "message" and f["seq"] == 2)
    assert late.messages(ROOM)[-1]["reply_to"]["author"] == "Amara Okafor"


async def test_a_reply_whose_original_is_removed_reads_message_removed_never_its_text(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    lucia = await _joined(server, await _member(db, "lucia"))
    amara = await _joined(server, await _member(db, "amara"))
    leader = await _joined(server, await _member(db, "leila", "leader"))
    await lucia.say(ROOM, "my phone number is 0612345678")
    await amara.send({"type": "send", "room": ROOM, "client_id": "r1", "body": "I will call you", "reply_to": 1})
    await amara.wait_for(lambda f: f["type"] == "ack")
    await _answer(leader, {"type": "remove", "room": ROOM, "seq": 1, "reason": "private"}, {"remove"})
    for session_name in ("reader", "leader2"):
        reader = await _joined(
            server, await _member(db, session_name, "leader" if session_name == "leader2" else "member")
        )
        frames = await _pong(reader, start=0)
        reply = next(f for f in frames if f["type"] == "message" and f["seq"] == 2)
        assert reply["reply_to"] == {"seq": 1, "removed": True}
        assert "0612345678" not in str(reply)


async def test_a_reply_to_a_message_that_is_not_there_is_refused_and_nothing_is_stored(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    lucia = await _joined(server, await _member(db, "lucia"))
    answer = await _answer(
        lucia, {"type": "send", "room": ROOM, "client_id": "r1", "body": "hi", "reply_to": 7}, {"ack"}
    )
    assert answer["type"] == "error" and answer["code"] == "not_found" and answer["ref"] == "r1"
    assert await db.fetchval("SELECT count(*) FROM room_messages") == 0


# --- edits and deletions --------------------------------------------------------------------------


async def test_an_author_edits_their_message_for_everyone_and_repeating_the_edit_changes_nothing(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    lucia = await _joined(server, await _member(db, "lucia"))
    amara = await _joined(server, await _member(db, "amara"))
    await lucia.say(ROOM, "See you on Tuesdy")
    edit = {"type": "edit", "room": ROOM, "seq": 1, "body": "See you on Tuesday"}
    await lucia.send(edit)
    for client in (lucia, amara):
        shown = await client.wait_for(lambda f: f["type"] == "edit")
        assert shown["seq"] == 1 and shown["body"] == "See you on Tuesday" and shown["edited_at"]
    start = len(amara.frames)
    await lucia.send(edit)
    await _pong(lucia)
    assert not [f for f in amara.frames[start:] + await _pong(amara) if f["type"] == "edit"]
    assert await db.fetchval("SELECT count(*) FROM room_message_edits") == 1
    row = await db.fetchrow("SELECT body, edited_at FROM room_messages")
    assert row["body"] == "See you on Tuesday" and row["edited_at"] is not None
    # History shows the new text, marked edited.
    late = await _joined(server, await _member(db, "late"))
    message = await late.wait_for(lambda f: f["type"] == "message")
    assert message["body"] == "See you on Tuesday" and message["edited_at"]


async def test_only_the_author_may_edit_or_delete_a_message_even_a_leader_is_refused(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    lucia = await _joined(server, await _member(db, "lucia"))
    await lucia.say(ROOM, "my words")
    others = {
        "member": await _joined(server, await _member(db, "amara")),
        "leader": await _joined(server, await _member(db, "leila", "leader")),
        "admin": await _joined(server, await create_session(db, await create_user(db, "root", admin=True))),
    }
    before = await db.fetch("SELECT * FROM room_messages")
    for who, client in others.items():
        for frame in (
            {"type": "edit", "room": ROOM, "seq": 1, "body": "not their words"},
            {"type": "delete", "room": ROOM, "seq": 1},
        ):
            answer = await _answer(client, frame, {"edit", "remove"})
            assert answer["type"] == "error" and answer["code"] == "forbidden", (who, frame, answer)
    assert await db.fetch("SELECT * FROM room_messages") == before
    assert await db.fetchval("SELECT count(*) FROM room_message_edits") == 0


async def test_a_muted_author_can_no_longer_edit_or_delete_their_message(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    lucia = await _joined(server, await _member(db, "lucia"))
    await lucia.say(ROOM, "before the mute")
    user_id = await db.fetchval("SELECT id FROM users WHERE username = 'lucia'")
    await add_sanction(db, community, user_id, "mute", reason="heated")
    for frame in (
        {"type": "edit", "room": ROOM, "seq": 1, "body": "after"},
        {"type": "delete", "room": ROOM, "seq": 1},
    ):
        answer = await _answer(lucia, frame, {"edit", "remove"})
        assert answer["type"] == "error" and answer["code"] == "muted"
    assert await db.fetchval("SELECT body FROM room_messages") == "before the mute"


async def test_an_author_deletes_their_message_for_everyone_and_deleting_again_is_harmless(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    lucia = await _joined(server, await _member(db, "lucia"))
    leader = await _joined(server, await _member(db, "leila", "leader"))
    await lucia.say(ROOM, "sent to the wrong room")
    start = len(leader.frames)
    await lucia.send({"type": "delete", "room": ROOM, "seq": 1})
    gone = await leader.wait_for(lambda f: f["type"] == "remove", start=start)
    assert gone == {"type": "remove", "room": ROOM, "seq": 1, "deleted": True}
    again = len(leader.frames)
    await lucia.send({"type": "delete", "room": ROOM, "seq": 1})
    assert not [f for f in await _pong(lucia) if f["type"] == "error"]
    assert not [f for f in leader.frames[again:] + await _pong(leader) if f["type"] == "remove"]
    # Leaders do not see it either: a fresh join and a resume account for the seq with a remove.
    fresh = await _joined(server, await _member(db, "leila2", "leader"))
    assert [f for f in await _pong(fresh, start=0) if f["type"] == "message"] == []
    resumed = await _joined(server, await _member(db, "amara"), since=0)
    assert [f["type"] for f in await _pong(resumed, start=0) if f.get("seq") == 1] == ["remove"]


async def test_only_leaders_and_site_admins_read_the_earlier_texts_of_an_edited_message(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    lucia = await _joined(server, await _member(db, "lucia"))
    await lucia.say(ROOM, "first words")
    await _answer(lucia, {"type": "edit", "room": ROOM, "seq": 1, "body": "second words"}, {"edit"})
    await _answer(lucia, {"type": "edit", "room": ROOM, "seq": 1, "body": "third words"}, {"edit"})
    ask = {"type": "edits", "room": ROOM, "seq": 1}
    for session in (
        await _member(db, "leila", "leader"),
        await create_session(db, await create_user(db, "root", admin=True)),
    ):
        client = await _joined(server, session)
        answer = await _answer(client, ask, {"edits"})
        assert [v["body"] for v in answer["versions"]] == ["first words", "second words"]
    for client in (lucia, await _joined(server, await _member(db, "amara"))):
        answer = await _answer(client, ask, {"edits"})
        assert answer["type"] == "error" and answer["code"] == "forbidden"


async def test_a_client_resuming_after_an_edit_a_deletion_and_a_reaction_sees_the_new_state(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    lucia_session = await _member(db, "lucia")
    lucia = await _joined(server, lucia_session)
    amara = await _joined(server, await _member(db, "amara", display_name="Amara"))
    for body in ("one", "two", "three"):
        await lucia.say(ROOM, body)
    joined = await amara.join(ROOM, since=3)
    await amara.close()
    await _answer(lucia, {"type": "edit", "room": ROOM, "seq": 1, "body": "one, edited"}, {"edit"})
    await _answer(lucia, {"type": "delete", "room": ROOM, "seq": 2}, {"remove"})
    reader = await _joined(server, await _member(db, "reader", display_name="Reader"))
    await _answer(reader, {"type": "react", "room": ROOM, "seq": 3, "kind": "thanks"}, {"reactions"})
    # Amara comes back with since = 3: nothing new was sent, yet every change reaches her.
    back = await LiveClient.connect(server.ws_url, server.base_url, await _member(db, "amara2"))
    assert (await back.join(ROOM, since=3, epoch=joined["epoch"]))["type"] == "joined"
    frames = [f for f in await _pong(back, start=0) if f.get("room") == ROOM and f["type"] in {"message", "remove"}]
    assert [(f["type"], f["seq"]) for f in frames] == [("message", 1), ("remove", 2), ("message", 3)]
    assert frames[0]["body"] == "one, edited" and frames[0]["edited_at"]
    assert frames[1]["deleted"] is True
    assert [(r["kind"], [u["display_name"] for u in r["users"]]) for r in frames[2]["reactions"]] == [
        ("thanks", ["Reader"])
    ]
    # A resume from a place after the changes is not sent them again.
    await lucia.say(ROOM, "four")
    quiet = await _joined(server, await _member(db, "amara3"), since=4)
    assert [f for f in await _pong(quiet, start=0) if f["type"] in {"message", "remove"}] == []


# --- reactions ----------------------------------------------------------------------------------


async def test_reactions_reach_everyone_with_counts_and_shown_names_and_toggle_off(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    lucia = await _joined(server, await _member(db, "lucia"))
    amara = await _joined(server, await _member(db, "amara", display_name="Amara"))
    hidden_session = await _member(db, "private", display_name="Private Person")
    await db.execute(
        "UPDATE memberships SET pseudonym = 'Sunflower', alias = 4242 WHERE user_id = (SELECT id FROM users WHERE username = 'private')"
    )
    private = await _joined(server, hidden_session)
    await lucia.say(ROOM, "The appointment went well")
    await _answer(amara, {"type": "react", "room": ROOM, "seq": 1, "kind": "thanks"}, {"reactions"})
    start = len(lucia.frames)
    await private.send({"type": "react", "room": ROOM, "seq": 1, "kind": "thanks"})
    shown = await lucia.wait_for(
        lambda f: f["type"] == "reactions" and len(f["reactions"][0]["users"]) == 2, start=start
    )
    users = shown["reactions"][0]["users"]
    assert [u["display_name"] for u in users] == ["Amara", "Sunflower"]
    assert users[1] == {"id": -4242, "username": "", "display_name": "Sunflower", "badge": None}
    assert "private" not in str(shown).lower() and "Private Person" not in str(shown)
    # Repeating is harmless; switching kinds replaces; "off" takes it back.
    again = len(lucia.frames)
    await private.send({"type": "react", "room": ROOM, "seq": 1, "kind": "thanks"})
    await _pong(private)
    assert [f for f in lucia.frames[again:] + await _pong(lucia) if f["type"] == "reactions"] == []
    switched = await _answer(private, {"type": "react", "room": ROOM, "seq": 1, "kind": "helped"}, {"reactions"})
    assert [(r["kind"], len(r["users"])) for r in switched["reactions"]] == [("helped", 1), ("thanks", 1)]
    off = await _answer(
        private, {"type": "react", "room": ROOM, "seq": 1, "kind": "helped", "on": False}, {"reactions"}
    )
    assert [(r["kind"], len(r["users"])) for r in off["reactions"]] == [("thanks", 1)]
    assert await db.fetchval("SELECT count(*) FROM room_message_reactions") == 1


async def test_reacting_to_ones_own_message_or_while_muted_or_signed_out_is_refused(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    await db.execute("UPDATE communities SET rooms_open = true")
    lucia = await _joined(server, await _member(db, "lucia"))
    await lucia.say(ROOM, "hello")
    muted = await _member(db, "muted")
    await add_sanction(db, community, await db.fetchval("SELECT id FROM users WHERE username = 'muted'"), "mute")
    react = {"type": "react", "room": ROOM, "seq": 1, "kind": "thanks"}
    cases = {"author": (lucia, "bad_request"), "muted": (await _joined(server, muted), "muted")}
    cases["anonymous"] = (await _joined(server, None), "forbidden")
    for who, (client, code) in cases.items():
        answer = await _answer(client, react, {"reactions"})
        assert answer["type"] == "error" and answer["code"] == code, who
    assert await db.fetchval("SELECT count(*) FROM room_message_reactions") == 0


async def test_a_member_toggling_reactions_past_the_allowance_is_told_to_wait_and_the_room_hears_nothing_more(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    lucia = await _joined(server, await _member(db, "lucia"))
    amara = await _joined(server, await _member(db, "amara"))
    await lucia.say(ROOM, "The appointment went well")
    for number in range(REACTIONS_PER_USER.count):
        frame = {"type": "react", "room": ROOM, "seq": 1, "kind": "thanks", "on": number % 2 == 0}
        assert (await _answer(amara, frame, {"reactions"}))["type"] == "reactions"
    heard = len(lucia.frames)
    refused = await _answer(amara, {"type": "react", "room": ROOM, "seq": 1, "kind": "thanks"}, {"reactions"})
    assert refused["type"] == "error" and refused["code"] == "rate_limited"
    assert [f for f in lucia.frames[heard:] + await _pong(lucia) if f["type"] == "reactions"] == []
    assert await db.fetchval("SELECT count(*) FROM room_message_reactions") == 0


# --- mentions -------------------------------------------------------------------------------------


async def test_a_mention_notifies_the_member_by_the_name_this_community_shows_and_only_readers_of_the_room(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    lucia = await _joined(server, await _member(db, "lucia"))
    await _member(db, "amara")
    await _member(db, "hidden")
    await db.execute(
        "UPDATE memberships SET pseudonym = 'Mama Bear', alias = 77 WHERE user_id = (SELECT id FROM users WHERE username = 'hidden')"
    )
    await _member(db, "banned")
    await add_sanction(db, community, await db.fetchval("SELECT id FROM users WHERE username = 'banned'"), "ban")
    await create_user(db, "outsider")
    body = "@amara and @[Mama Bear], also @hidden, @banned and @outsider: thank you!"
    assert (await lucia.say(ROOM, body))["type"] == "ack"
    await _pong(lucia)
    rows = await db.fetch(
        """SELECT u.username, n.kind, n.data->>'url' AS url FROM notifications n JOIN users u ON u.id = n.user_id
           ORDER BY u.username"""
    )
    # The pseudonymous member is reached by the pseudonym only: their username behind it names nobody.
    assert [(r["username"], r["kind"]) for r in rows] == [("amara", "mention"), ("hidden", "mention")]
    assert rows[0]["url"] == "/c/test-condition/live/main#message-1"
    # Amara's notifications page says who mentioned her where, and leads to the message.
    amara = await db.fetchval("SELECT id FROM users WHERE username = 'amara'")
    cookies = {"kindred_session": await create_session(db, amara)}
    async with httpx.AsyncClient(base_url=server.base_url, cookies=cookies) as http:
        page = (await http.get("/notifications")).text
        opened = await http.get(f"/notifications/{await db.fetchval('SELECT min(id) FROM notifications')}")
    assert "Lucia mentioned you in the live room Main room" in page
    assert opened.headers["location"] == "/c/test-condition/live/main#message-1"


async def test_editing_in_a_new_mention_notifies_only_the_newly_mentioned(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    lucia = await _joined(server, await _member(db, "lucia"))
    await _member(db, "amara")
    await _member(db, "omar")
    await lucia.say(ROOM, "thanks @amara")
    await _answer(lucia, {"type": "edit", "room": ROOM, "seq": 1, "body": "thanks @amara and @omar"}, {"edit"})
    names = await db.fetch("SELECT u.username FROM notifications n JOIN users u ON u.id = n.user_id ORDER BY 1")
    assert [r["username"] for r in names] == ["amara", "omar"]


async def test_writers_find_room_members_to_mention_by_the_name_the_community_shows(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    await db.execute("UPDATE communities SET rooms_open = true")
    lucia = await _joined(server, await _member(db, "lucia"))
    await _member(db, "amara", display_name="Amara Okafor")
    await _member(db, "hidden", display_name="Amelia Account")
    await db.execute(
        "UPDATE memberships SET pseudonym = 'Amber Sky', alias = 99 WHERE user_id = (SELECT id FROM users WHERE username = 'hidden')"
    )
    await _member(db, "amos")
    await add_sanction(db, community, await db.fetchval("SELECT id FROM users WHERE username = 'amos'"), "ban")
    answer = await _answer(lucia, {"type": "members", "room": ROOM, "prefix": "am"}, {"members"})
    assert answer["prefix"] == "am"
    assert answer["members"] == [
        {"id": 2, "username": "amara", "display_name": "Amara Okafor", "badge": None},
        {"id": -99, "username": "", "display_name": "Amber Sky", "badge": None},
    ]
    # A word of the name counts; the username behind a pseudonym finds nobody.
    sky = await _answer(lucia, {"type": "members", "room": ROOM, "prefix": "sky"}, {"members"})
    assert [m["display_name"] for m in sky["members"]] == ["Amber Sky"]
    behind = await _answer(lucia, {"type": "members", "room": ROOM, "prefix": "hidd"}, {"members"})
    assert behind["members"] == []
    # Only those who may write ask.
    for session in (None, await _member(db, "muted")):
        if session is not None:
            await add_sanction(
                db, community, await db.fetchval("SELECT id FROM users WHERE username = 'muted'"), "mute"
            )
        reader = await _joined(server, session)
        refused = await _answer(reader, {"type": "members", "room": ROOM, "prefix": "am"}, {"members"})
        assert refused["type"] == "error" and refused["code"] in {"forbidden", "muted"}
        assert "Amara" not in str(reader.frames)

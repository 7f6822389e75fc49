"""A mute reaches the muted member's open sockets live, on every process: the server refuses their next send
from a socket opened before the mute, and their pages get `muted` / `unmuted` (nobody else does)."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx
import pytest

from server import auth
from server.settings import Settings
from tests.factories import create_community, csrf_from, member_session
from tests.harness import WebProcess, web_processes
from tests.live_client import LiveClient

pytestmark = pytest.mark.slow
SLUG = "test-condition"
ROOM = f"{SLUG}/main"


async def _connect(web: WebProcess, settings: Settings, session: str, *, watch: bool = True) -> LiveClient:
    """A socket that joined the main room and (watch) follows its member's own topic, as the room page does."""
    client = await LiveClient.connect(web.ws_url, settings.site_origin, session)
    assert (await client.join(ROOM))["type"] == "joined"
    if watch:
        await client.send({"type": "watch", "topic": "member:me"})
        await client.wait_for(lambda f: f["type"] == "watching" and f["topic"] == "member:me")
    return client


async def _post(web: WebProcess, session: str, path: str, data: dict[str, str]) -> httpx.Response:
    """A form posted on that process by the session's member, with its CSRF token."""
    async with httpx.AsyncClient(base_url=web.base_url, cookies={auth.SESSION_COOKIE: session}) as http:
        token = csrf_from((await http.get("/")).text)
        return await http.post(path, data={**data, "csrf_token": token})


@pytest.fixture
async def community(db: asyncpg.Connection) -> int:
    return await create_community(db)


async def test_a_socket_open_before_the_mute_is_refused_its_next_send_on_the_other_process(
    settings: Settings, db: asyncpg.Connection, community: int, tmp_path: Path
) -> None:
    leader = await member_session(db, "amara", "leader")
    with web_processes(settings, tmp_path) as (first, second):
        tomas = await _connect(second, settings, await member_session(db, "tomas"))
        bystander = await _connect(second, settings, await member_session(db, "lucia"), watch=False)
        amara = await _connect(first, settings, leader, watch=False)
        muted = await _post(
            first, leader, f"/c/{SLUG}/members/tomas/mute", {"duration": "1h", "reason": "Please take a breath."}
        )
        assert muted.status_code == 303
        # The very next send of the socket opened before the mute, on the other process, is refused with the
        # reason and the end; nothing is stored, and so nothing reaches the room.
        refused = await tomas.say(ROOM, "You are all wrong!")
        assert refused["type"] == "error" and refused["code"] == "muted"
        assert "You are muted in this community until" in refused["message"]
        assert "Reason: Please take a breath." in refused["message"]
        assert (await amara.say(ROOM, "Let us keep it kind."))["seq"] == 1
        said = await bystander.wait_for(lambda f: f["type"] == "message")
        assert (said["seq"], said["body"]) == (1, "Let us keep it kind.")
        assert await db.fetchval("SELECT count(*) FROM room_messages") == 1


async def test_a_mute_and_its_lifting_reach_the_muted_members_socket_on_the_other_process_and_no_one_elses(
    settings: Settings, db: asyncpg.Connection, community: int, tmp_path: Path
) -> None:
    leader = await member_session(db, "amara", "leader")
    with web_processes(settings, tmp_path) as (first, second):
        tomas = await _connect(second, settings, await member_session(db, "tomas"))
        bystander = await _connect(second, settings, await member_session(db, "lucia"))
        amara = await _connect(first, settings, leader)
        heated = await tomas.say(ROOM, "You are all wrong!")
        # Muted in this room only, from the message's own menu, on the first process.
        muted = await _post(
            first,
            leader,
            f"/c/{SLUG}/live/main/messages/{heated['seq']}/mute",
            {"scope": "room", "duration": "1h", "mute_reason": "Please take a breath."},
        )
        assert muted.status_code == 303
        frame = await tomas.wait_for(lambda f: f["type"] == "muted")
        assert frame["community"] == SLUG and frame["room"] == ROOM
        assert frame["reason"] == "Please take a breath."
        ends_at = await db.fetchval("SELECT ends_at FROM sanctions WHERE kind = 'mute' AND lifted_at IS NULL")
        assert frame["until"].replace("Z", "+00:00") == ends_at.isoformat()
        # Published after the mute's: once the bystander (on the muted member's process, watching their own
        # topic) has this message, a frame about the mute sent to them or to the room would have come first.
        await amara.say(ROOM, "Let us keep it kind.")
        await bystander.wait_for(lambda f: f["type"] == "message" and f["body"] == "Let us keep it kind.")
        assert [f for f in bystander.frames if f["type"] in {"muted", "unmuted"}] == []
        assert [f for f in amara.frames if f["type"] in {"muted", "unmuted"}] == []

        lifted = await _post(first, leader, f"/c/{SLUG}/members/tomas/unmute", {})
        assert lifted.status_code == 303
        assert (await tomas.wait_for(lambda f: f["type"] == "unmuted")) == {"type": "unmuted", "community": SLUG}
        assert (await tomas.say(ROOM, "Sorry, I will calm down."))["type"] == "ack"
        await amara.say(ROOM, "Welcome back.")
        await bystander.wait_for(lambda f: f["type"] == "message" and f["body"] == "Welcome back.")
        assert [f for f in bystander.frames if f["type"] in {"muted", "unmuted"}] == []


async def test_a_members_mute_attempt_is_refused_and_tells_no_socket_anything(
    settings: Settings, db: asyncpg.Connection, community: int, tmp_path: Path
) -> None:
    member = await member_session(db, "lucia")
    with web_processes(settings, tmp_path) as (first, second):
        tomas = await _connect(second, settings, await member_session(db, "tomas"))
        lucia = await _connect(first, settings, member)
        said = await tomas.say(ROOM, "Hello")
        for path, data in (
            (f"/c/{SLUG}/members/tomas/mute", {"duration": "1h", "reason": "I do not like him."}),
            (
                f"/c/{SLUG}/live/main/messages/{said['seq']}/mute",
                {"scope": "community", "duration": "1h", "mute_reason": "I do not like him."},
            ),
            (f"/c/{SLUG}/members/tomas/unmute", {}),
        ):
            assert (await _post(first, member, path, data)).status_code == 403
        assert await db.fetchval("SELECT count(*) FROM sanctions") == 0
        # Anything the refused attempts had published would have reached tomas before this message.
        await lucia.say(ROOM, "Hi Tomás")
        await tomas.wait_for(lambda f: f["type"] == "message" and f["body"] == "Hi Tomás")
        assert [f for f in tomas.frames if f["type"] in {"muted", "unmuted", "error"}] == []
        assert (await tomas.say(ROOM, "Still here"))["type"] == "ack"


async def test_a_join_answer_tells_the_mute_in_force_there_and_nothing_once_it_is_lifted(
    settings: Settings, db: asyncpg.Connection, community: int, tmp_path: Path
) -> None:
    """For a page whose socket was down when the leader muted or unmuted its member (docs/protocol.md, joined)."""
    leader, tomas = await member_session(db, "amara", "leader"), await member_session(db, "tomas")
    with web_processes(settings, tmp_path) as (first, second):

        async def joined(session: str) -> dict[str, object]:
            client = await LiveClient.connect(second.ws_url, settings.site_origin, session)
            try:
                return await client.join(ROOM)
            finally:
                await client.close()

        said = await _connect(second, settings, tomas, watch=False)
        heated = await said.say(ROOM, "You are all wrong!")
        await said.close()
        assert "muted" not in await joined(tomas)
        everywhere = {"duration": "1h", "reason": "A short pause."}
        assert (await _post(first, leader, f"/c/{SLUG}/members/tomas/mute", everywhere)).status_code == 303
        ends_at = await db.fetchval("SELECT ends_at FROM sanctions WHERE kind = 'mute' AND lifted_at IS NULL")
        answer = await joined(tomas)
        assert answer["muted"] == {"reason": "A short pause.", "until": ends_at.isoformat().replace("+00:00", "Z")}
        assert "muted" not in await joined(leader)  # nobody else's join says anything about it

        in_room = {"scope": "room", "duration": "until_lifted", "mute_reason": "Not here."}
        path = f"/c/{SLUG}/live/main/messages/{heated['seq']}/mute"
        assert (await _post(first, leader, path, in_room)).status_code == 303
        assert (await joined(tomas))["muted"] == {"reason": "Not here.", "room": ROOM}  # no end: until lifted

        assert (await _post(first, leader, f"/c/{SLUG}/members/tomas/unmute", {})).status_code == 303
        assert "muted" not in await joined(tomas)

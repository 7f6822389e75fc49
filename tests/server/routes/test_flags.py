"""Flags over HTTP: members flag posts and chat messages, crisis resources, recusal, escalation, uphold and dismiss."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from server.settings import Settings
from tests.factories import (
    add_member,
    create_cast,
    create_post,
    create_session,
    create_thread,
    create_user,
    csrf_from,
    login,
    table_rows,
)
from tests.harness import LiveServer, live_server
from tests.live_client import LiveClient
from tests.test_templates import page_problems

SLUG = "test-condition"
ROOM = f"{SLUG}/main"
TABLES = ("flags", "posts", "threads", "room_messages", "moderation_actions", "notifications")
CRISIS = "call your local emergency number now"


async def _row(db: asyncpg.Connection, query: str, *args: object) -> tuple[object, ...]:
    record = await db.fetchrow(query, *args)
    assert record is not None
    return tuple(record)


async def _thread_with_reply(
    db: asyncpg.Connection, cast: dict[str, int], body: str = "You are all fools"
) -> tuple[int, int]:
    thread = await create_thread(db, cast["community"], cast["leader"], "Daily life")
    return thread, await create_post(db, thread, cast["member"], body)


async def _flag(client: httpx.AsyncClient, token: str, post: int, reason: str, note: str = "") -> httpx.Response:
    return await client.post(f"/c/{SLUG}/posts/{post}/flag", data={"reason": reason, "note": note, "csrf_token": token})


async def _members(db: asyncpg.Connection, community: int, *names: str) -> list[int]:
    ids = []
    for name in names:
        user_id = await create_user(db, name)
        await add_member(db, community, user_id)
        ids.append(user_id)
    return ids


async def _message(db: asyncpg.Connection, community: int, author: int, body: str = "Nasty words") -> tuple[int, int]:
    room = await db.fetchval("SELECT id FROM rooms WHERE community_id = $1", community)
    seq = await db.fetchval("UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq", room)
    message = await db.fetchval(
        """INSERT INTO room_messages (room_id, seq, author_id, client_msg_id, body)
           VALUES ($1, $2, $3, $4, $5) RETURNING id""",
        room,
        seq,
        author,
        f"c{seq}",
        body,
    )
    return message, seq


# --- Flagging a post --------------------------------------------------------------------------


async def test_a_member_flags_a_post_with_a_reason_and_a_note_and_the_leaders_see_it(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread, post = await _thread_with_reply(db, cast)
    await _members(db, cast["community"], "caring")
    token = await login(client, "caring")
    assert f"/c/{SLUG}/posts/{post}/flag" in (await client.get(f"/c/{SLUG}/t/{thread}")).text
    form = await client.get(f"/c/{SLUG}/posts/{post}/flag")
    assert form.status_code == 200 and "You are all fools" in form.text and page_problems(form.text) == []
    sent = await _flag(client, token, post, "unkind", "Third time this week")
    assert sent.status_code == 200 and "Your flag has been sent" in sent.text
    assert CRISIS not in sent.text
    row = await _row(db, "SELECT community_id, subject_user_id, reason, note, status FROM flags")
    assert row == (cast["community"], cast["member"], "unkind", "Third time this week", "open")
    # The leaders hear of it; the author does not.
    told = await db.fetch("SELECT user_id, kind FROM notifications")
    assert [tuple(item) for item in told] == [(cast["leader"], "flag")]
    await login(client, "leader")
    queue = await client.get(f"/c/{SLUG}/review")
    assert "Unkind or disrespectful" in queue.text and "Third time this week" in queue.text
    assert "You are all fools" in queue.text and page_problems(queue.text) == []
    assert "Something in Test Condition was flagged for review." in (await client.get("/notifications")).text


async def test_flagging_the_same_post_twice_is_answered_kindly_and_stores_nothing(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    _thread, post = await _thread_with_reply(db, cast)
    await _members(db, cast["community"], "caring")
    token = await login(client, "caring")
    assert (await _flag(client, token, post, "spam")).status_code == 200
    before = await table_rows(db, *TABLES)
    again = await _flag(client, token, post, "unkind")
    assert again.status_code == 409 and "You have already flagged this" in again.text
    assert await table_rows(db, *TABLES) == before


@pytest.mark.parametrize(
    ("reason", "note", "message"),
    [("", "", "Please choose why"), ("bogus", "", "Please choose why"), ("other", "x" * 1001, "at most 1000")],
)
async def test_a_flag_needs_a_known_reason_and_a_short_note_and_keeps_what_was_typed(
    client: httpx.AsyncClient, db: asyncpg.Connection, reason: str, note: str, message: str
) -> None:
    cast = await create_cast(db)
    _thread, post = await _thread_with_reply(db, cast)
    await _members(db, cast["community"], "caring")
    token = await login(client, "caring")
    response = await _flag(client, token, post, reason, note or "my note")
    assert response.status_code == 400 and message in response.text
    assert (note or "my note") in response.text
    assert await db.fetchval("SELECT count(*) FROM flags") == 0


async def test_a_member_cannot_flag_their_own_post(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    _thread, post = await _thread_with_reply(db, cast)
    token = await login(client, "member")
    assert (await _flag(client, token, post, "spam")).status_code == 400
    assert await db.fetchval("SELECT count(*) FROM flags") == 0


@pytest.mark.parametrize("who", ["anonymous", "banned", "muted", "outsider", "other_leader"])
async def test_only_members_in_good_standing_flag(client: httpx.AsyncClient, db: asyncpg.Connection, who: str) -> None:
    cast = await create_cast(db)
    _thread, post = await _thread_with_reply(db, cast)
    _message_id, seq = await _message(db, cast["community"], cast["member"])
    before = await table_rows(db, *TABLES)
    token = csrf_from((await client.get("/login")).text) if who == "anonymous" else await login(client, who)
    refusal = 401 if who == "anonymous" else 403
    for path in (f"/c/{SLUG}/posts/{post}/flag", f"/c/{SLUG}/live/main/messages/{seq}/flag"):
        assert (await client.get(path)).status_code == refusal, path
        response = await client.post(path, data={"reason": "spam", "csrf_token": token})
        assert response.status_code == refusal, path
    # Refused before the input is looked at.
    bad = await client.post(f"/c/{SLUG}/posts/999999/flag", data={"reason": "", "csrf_token": token})
    assert bad.status_code == refusal
    assert await table_rows(db, *TABLES) == before


# --- Enough flags hide; leaders uphold or dismiss -----------------------------------------------


async def test_enough_flags_from_different_members_hide_a_post_until_a_leader_dismisses_them(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await db.execute("UPDATE communities SET flag_hide_threshold = 2 WHERE id = $1", cast["community"])
    thread, post = await _thread_with_reply(db, cast)
    await _members(db, cast["community"], "first", "second")
    token = await login(client, "first")
    await _flag(client, token, post, "unkind")
    assert await db.fetchval("SELECT state FROM posts WHERE id = $1", post) == "visible"
    token = await login(client, "second")
    await _flag(client, token, post, "spam")
    row = await _row(db, "SELECT state, state_reason FROM posts WHERE id = $1", post)
    assert row == ("held", "flagged")
    assert await db.fetchval("SELECT reply_count FROM threads WHERE id = $1", thread) == 0
    assert await db.fetchval("SELECT action FROM moderation_actions") == "hide_by_flags"
    assert "You are all fools" not in (await client.get(f"/c/{SLUG}/t/{thread}")).text

    token = await login(client, "leader")
    page = await client.get(f"/c/{SLUG}/t/{thread}")
    assert f"/c/{SLUG}/review#flagged-post-{post}" in page.text
    dismissed = await client.post(f"/c/{SLUG}/review/posts/{post}/dismiss", data={"csrf_token": token})
    assert dismissed.status_code == 303
    assert await db.fetchval("SELECT state FROM posts WHERE id = $1", post) == "visible"
    assert await db.fetchval("SELECT reply_count FROM threads WHERE id = $1", thread) == 1
    statuses = await db.fetch("SELECT status, handled_by FROM flags")
    assert [tuple(row) for row in statuses] == [("dismissed", cast["leader"])] * 2
    assert await db.fetchval("SELECT action FROM moderation_actions ORDER BY id DESC LIMIT 1") == "dismiss_flags"
    again = await client.post(f"/c/{SLUG}/review/posts/{post}/dismiss", data={"csrf_token": token})
    assert again.status_code == 409


async def test_upholding_flags_hides_the_post_with_a_reason_the_author_is_told(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread, post = await _thread_with_reply(db, cast)
    await _members(db, cast["community"], "caring")
    token = await login(client, "caring")
    await _flag(client, token, post, "unkind")
    token = await login(client, "leader")
    empty = await client.post(f"/c/{SLUG}/review/posts/{post}/uphold", data={"reason": "", "csrf_token": token})
    assert empty.status_code == 400 and "Please give a reason" in empty.text
    upheld = await client.post(
        f"/c/{SLUG}/review/posts/{post}/uphold", data={"reason": "Please be kind", "csrf_token": token}
    )
    assert upheld.status_code == 303
    assert (await _row(db, "SELECT state, state_reason FROM posts WHERE id = $1", post)) == (
        "hidden",
        "Please be kind",
    )
    assert await db.fetchval("SELECT status FROM flags") == "upheld"
    assert await db.fetchval("SELECT reply_count FROM threads WHERE id = $1", thread) == 0
    entry = await _row(db, "SELECT action, reason, target_user_id FROM moderation_actions")
    assert entry == ("uphold_flags", "Please be kind", cast["member"])
    await login(client, "member")
    assert "A leader hid your post in “Daily life”. Reason: Please be kind" in (await client.get("/notifications")).text


# --- Someone may be at risk -----------------------------------------------------------------------


async def test_someone_at_risk_shows_the_flagger_help_and_alerts_every_leader_and_admin(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"], "Daily life")
    older = await create_post(db, thread, cast["member"], "Plain spam")
    worrying = await create_post(db, thread, cast["member"], "I cannot go on like this")
    second_admin = await create_user(db, "otheradmin", admin=True)
    await _members(db, cast["community"], "caring")
    token = await login(client, "caring")
    await _flag(client, token, older, "spam")
    sent = await _flag(client, token, worrying, "at_risk", "She wrote this at 3 a.m.")
    assert sent.status_code == 200 and CRISIS in sent.text
    assert "have been told" in sent.text and page_problems(sent.text) == []
    crisis = await db.fetch("SELECT user_id FROM notifications WHERE kind = 'crisis' ORDER BY user_id")
    assert [row["user_id"] for row in crisis] == sorted([cast["leader"], cast["admin"], second_admin])
    await login(client, "leader")
    queue = (await client.get(f"/c/{SLUG}/review")).text
    # The crisis comes first, though it was flagged after the spam.
    assert queue.index("I cannot go on like this") < queue.index("Plain spam")
    assert "Someone may be at risk in Test Condition" in (await client.get("/notifications")).text


async def test_the_crisis_text_is_the_one_configured(settings: Settings, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    _thread, post = await _thread_with_reply(db, cast)
    await _members(db, cast["community"], "caring")
    custom = settings.with_overrides(crisis_text="Call the Lyon helpline on 3114, any hour.")
    async with live_server(custom) as server, httpx.AsyncClient(base_url=server.base_url) as client:
        token = await login(client, "caring")
        sent = await _flag(client, token, post, "at_risk")
    assert "Call the Lyon helpline on 3114, any hour." in sent.text


async def test_a_member_who_flagged_before_can_still_say_someone_is_at_risk(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    _thread, post = await _thread_with_reply(db, cast)
    await _members(db, cast["community"], "caring")
    token = await login(client, "caring")
    await _flag(client, token, post, "other")
    again = await _flag(client, token, post, "at_risk", "Now I am worried")
    assert again.status_code == 200 and CRISIS in again.text
    row = await _row(db, "SELECT reason, note, status FROM flags")
    assert row == ("at_risk", "Now I am worried", "open")
    crisis = "SELECT user_id FROM notifications WHERE kind = 'crisis' ORDER BY user_id"
    assert [row["user_id"] for row in await db.fetch(crisis)] == sorted([cast["leader"], cast["admin"]])
    # Asking a third time still shows where to find help, and changes nothing.
    before = await table_rows(db, *TABLES)
    third = await _flag(client, token, post, "at_risk")
    assert third.status_code == 409 and CRISIS in third.text
    assert await table_rows(db, *TABLES) == before


# --- Recusal and the site admins' queue ------------------------------------------------------------


async def test_a_flagged_leader_never_sees_the_flag_and_site_admins_handle_it(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    peer = await create_user(db, "peer")
    await add_member(db, cast["community"], peer, "leader")
    thread = await create_thread(db, cast["community"], cast["member"], "Daily life")
    post = await create_post(db, thread, cast["leader"], "A leader being harsh")
    await _members(db, cast["community"], "caring")
    token = await login(client, "caring")
    await _flag(client, token, post, "unkind", "Leaders should be kinder")
    told = await db.fetch("SELECT user_id, kind FROM notifications ORDER BY user_id")
    assert [tuple(row) for row in told] == [(cast["admin"], "flag")]
    for leader in ("leader", "peer"):
        token = await login(client, leader)
        assert "A leader being harsh" not in (await client.get(f"/c/{SLUG}/review")).text
    # The flagged leader cannot handle it through the URL either.
    token = await login(client, "leader")
    before = await table_rows(db, *TABLES)
    response = await client.post(f"/c/{SLUG}/review/posts/{post}/dismiss", data={"csrf_token": token})
    assert response.status_code == 403
    assert await table_rows(db, *TABLES) == before
    token = await login(client, "siteadmin")
    queue = await client.get("/admin/flags")
    assert queue.status_code == 200 and "A leader being harsh" in queue.text and "About a leader" in queue.text
    assert f'action="/c/{SLUG}/review/posts/{post}/uphold"' in queue.text
    assert 'name="next" value="/admin/flags"' in queue.text
    assert page_problems(queue.text) == []
    upheld = await client.post(
        f"/c/{SLUG}/review/posts/{post}/uphold",
        data={"reason": "Unkind", "next": "/admin/flags", "csrf_token": token},
    )
    assert upheld.status_code == 303 and upheld.headers["location"] == "/admin/flags"
    assert await db.fetchval("SELECT state FROM posts WHERE id = $1", post) == "hidden"


@pytest.mark.parametrize("who", ["anonymous", "member", "leader"])
async def test_only_site_admins_open_the_admin_flag_queue(
    client: httpx.AsyncClient, db: asyncpg.Connection, who: str
) -> None:
    await create_cast(db)
    if who != "anonymous":
        await login(client, who)
    assert (await client.get("/admin/flags")).status_code == (401 if who == "anonymous" else 403)


# --- Escalation --------------------------------------------------------------------------------


async def _old_flag(db: asyncpg.Connection, cast: dict[str, int], post: int, minutes: int) -> None:
    await db.execute(
        """INSERT INTO flags (community_id, post_id, subject_user_id, flagger_id, reason, created_at)
           VALUES ($1, $2, $3, $4, 'spam', now() - make_interval(mins => $5))""",
        cast["community"],
        post,
        cast["member"],
        cast["outsider"],
        minutes,
    )


async def test_a_flag_nobody_handles_in_time_is_escalated_when_a_review_page_loads(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    _thread, post = await _thread_with_reply(db, cast, "Stale spam")
    _thread2, fresh = await _thread_with_reply(db, cast, "Fresh spam")
    await _old_flag(db, cast, post, 61)
    await _old_flag(db, cast, fresh, 5)
    await login(client, "leader")
    page = await client.get(f"/c/{SLUG}/review")
    assert "Escalated to site admins" in page.text
    escalated = await db.fetch("SELECT post_id FROM flags WHERE escalated_at IS NOT NULL")
    assert [row["post_id"] for row in escalated] == [post]
    assert await db.fetchval("SELECT user_id FROM notifications WHERE kind = 'flag'") == cast["admin"]
    await client.get(f"/c/{SLUG}/review")  # escalated once only
    assert await db.fetchval("SELECT count(*) FROM notifications") == 1
    await login(client, "siteadmin")
    queue = (await client.get("/admin/flags")).text
    assert "Stale spam" in queue and "Fresh spam" not in queue


async def test_flags_are_escalated_by_the_apps_own_task_without_any_page_opened(
    settings: Settings, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    _thread, post = await _thread_with_reply(db, cast)
    await _old_flag(db, cast, post, 61)
    async with live_server(settings.with_overrides(flag_sweep_seconds=0.05)):
        for _attempt in range(200):
            if await db.fetchval("SELECT escalated_at IS NOT NULL FROM flags"):
                break
            await asyncio.sleep(0.05)
    assert await db.fetchval("SELECT escalated_at IS NOT NULL FROM flags")
    assert await db.fetchval("SELECT count(*) FROM notifications WHERE kind = 'flag'") == 1


# --- Chat messages -----------------------------------------------------------------------------


async def test_a_member_flags_a_chat_message_and_enough_flags_remove_it_from_every_open_room(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    # An outsider watches too: the community's leaders opened its rooms to everyone.
    await db.execute("UPDATE communities SET rooms_open = true WHERE id = $1", cast["community"])
    await db.execute("UPDATE communities SET flag_hide_threshold = 1 WHERE id = $1", cast["community"])
    await _members(db, cast["community"], "caring")
    watcher = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast["outsider"]))
    await watcher.join(ROOM)
    author = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast["member"]))
    await author.join(ROOM)
    ack = await author.say(ROOM, "Go away, all of you")
    await watcher.wait_for(lambda f: f["type"] == "message" and f["seq"] == ack["seq"])

    token = await login(client, "caring")
    room_page = await client.get(f"/c/{SLUG}/live/main")
    assert f"/c/{SLUG}/live/main/messages/{ack['seq']}/flag" in room_page.text
    form = await client.get(f"/c/{SLUG}/live/main/messages/{ack['seq']}/flag")
    assert form.status_code == 200 and "Go away, all of you" in form.text
    sent = await client.post(
        f"/c/{SLUG}/live/main/messages/{ack['seq']}/flag", data={"reason": "unkind", "csrf_token": token}
    )
    assert sent.status_code == 200
    await watcher.wait_for(lambda f: f["type"] == "remove" and f["seq"] == ack["seq"])
    message = await db.fetchval("SELECT id FROM room_messages WHERE seq = $1", ack["seq"])
    assert (await _row(db, "SELECT state, state_reason FROM room_messages WHERE id = $1", message)) == (
        "held",
        "flagged",
    )
    assert await db.fetchval("SELECT message_id FROM flags") == message

    # A leader dismisses the flag: the message comes back for everyone.
    start = len(watcher.frames)
    token = await login(client, "leader")
    assert "Go away, all of you" in (await client.get(f"/c/{SLUG}/review")).text
    dismissed = await client.post(f"/c/{SLUG}/review/messages/{message}/dismiss", data={"csrf_token": token})
    assert dismissed.status_code == 303
    back = await watcher.wait_for(lambda f: f["type"] == "message" and f["seq"] == ack["seq"], start=start)
    assert back["body"] == "Go away, all of you"
    assert await db.fetchval("SELECT state FROM room_messages WHERE id = $1", message) == "visible"
    await watcher.close()
    await author.close()


async def test_upholding_a_chat_flag_removes_the_message_for_everyone(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    # An outsider watches too: the community's leaders opened its rooms to everyone.
    await db.execute("UPDATE communities SET rooms_open = true WHERE id = $1", cast["community"])
    message, seq = await _message(db, cast["community"], cast["member"], "Rude message")
    await _members(db, cast["community"], "caring")
    watcher = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast["outsider"]))
    await watcher.join(ROOM)
    token = await login(client, "caring")
    await client.post(f"/c/{SLUG}/live/main/messages/{seq}/flag", data={"reason": "unkind", "csrf_token": token})
    assert await db.fetchval("SELECT state FROM room_messages WHERE id = $1", message) == "visible"
    token = await login(client, "leader")
    response = await client.post(
        f"/c/{SLUG}/review/messages/{message}/uphold", data={"reason": "Rude", "csrf_token": token}
    )
    assert response.status_code == 303
    await watcher.wait_for(lambda f: f["type"] == "remove" and f["seq"] == seq)
    assert (await _row(db, "SELECT state, state_reason FROM room_messages WHERE id = $1", message)) == (
        "hidden",
        "Rude",
    )
    await watcher.close()


def test_the_default_crisis_text_is_in_the_readers_language_and_a_sites_own_text_is_kept() -> None:
    from server import i18n
    from server.routes.pages.flags import crisis_text
    from server.settings import Settings

    i18n.set_request_locale("fr", "UTC")
    try:
        assert "numéro d'urgence" in crisis_text(Settings())
        own = Settings(crisis_text="Call Samaritans on 116 123.")
        assert crisis_text(own) == "Call Samaritans on 116 123."
    finally:
        i18n.set_request_locale("en", "UTC")
    assert crisis_text(Settings()).startswith("If someone is in immediate danger")

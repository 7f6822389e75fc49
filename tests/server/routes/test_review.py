"""The first-post hold and the leaders' review queue: held threads, replies and chat messages, approve and reject."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

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
from tests.harness import LiveServer
from tests.live_client import LiveClient
from tests.test_templates import page_problems

SLUG = "test-condition"
ROOM = f"{SLUG}/main"
TABLES = (
    "threads",
    "posts",
    "room_messages",
    "memberships",
    "communities",
    "moderation_actions",
    "notifications",
    "flags",
)
REFUSED = ["anonymous", "member", "muted", "banned", "other_leader", "outsider"]


async def _row(db: asyncpg.Connection, query: str, *args: object) -> tuple[object, ...]:
    record = await db.fetchrow(query, *args)
    assert record is not None
    return tuple(record)


async def _newcomer(db: asyncpg.Connection, community: int, name: str = "newbie") -> int:
    """A member who just joined: nothing approved yet, so the first-post hold applies."""
    user_id = await create_user(db, name)
    await add_member(db, community, user_id, approved_posts=0)
    return user_id


async def _sign_in(client: httpx.AsyncClient, who: str) -> str:
    if who == "anonymous":
        return csrf_from((await client.get("/login")).text)
    return await login(client, "siteadmin" if who == "admin" else who)


# --- Held threads and replies ---------------------------------------------------------------


async def test_a_new_members_thread_waits_for_review_and_only_they_and_leaders_see_it(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    newbie = await _newcomer(db, cast["community"])
    token = await login(client, "newbie")
    created = await client.post(
        f"/c/{SLUG}/forum/new",
        data={"title": "Hello from Lyon", "body": "Our son was diagnosed last week. Hi @member", "csrf_token": token},
    )
    assert created.status_code == 303
    thread = await db.fetchval("SELECT id FROM threads WHERE title = 'Hello from Lyon'")
    assert await db.fetchval("SELECT state FROM threads WHERE id = $1", thread) == "held"
    assert await db.fetchval("SELECT state FROM posts WHERE thread_id = $1", thread) == "held"
    own = await client.get(f"/c/{SLUG}/t/{thread}")
    assert own.status_code == 200 and "waiting for review" in own.text and "Our son was diagnosed" in own.text
    # Nobody hears of it yet but the leaders, who are told it waits for them (server/actions/waiting.py).
    assert await db.fetchval("SELECT count(*) FROM notifications WHERE kind <> 'review'") == 0
    assert [row["user_id"] for row in await db.fetch("SELECT user_id FROM notifications")] == [cast["leader"]]
    listed = (await client.get(f"/c/{SLUG}/forum")).text
    assert "Your threads waiting for review" in listed and "Hello from Lyon" in listed

    await login(client, "member")
    assert "Hello from Lyon" not in (await client.get(f"/c/{SLUG}/forum")).text
    assert (await client.get(f"/c/{SLUG}/t/{thread}")).status_code == 404
    assert "Hello from Lyon" not in (await client.get("/search", params={"q": "diagnosed"})).text

    token = await login(client, "leader")
    as_leader = await client.get(f"/c/{SLUG}/t/{thread}")
    post = await db.fetchval("SELECT id FROM posts WHERE thread_id = $1", thread)
    assert f"/c/{SLUG}/review/posts/{post}/approve" in as_leader.text
    queue = await client.get(f"/c/{SLUG}/review")
    assert queue.status_code == 200 and "New thread: “Hello from Lyon”" in queue.text
    assert page_problems(queue.text) == []
    approved = await client.post(
        f"/c/{SLUG}/review/posts/{post}/approve", data={"next": f"/c/{SLUG}/posts/{post}", "csrf_token": token}
    )
    assert approved.status_code == 303 and approved.headers["location"] == f"/c/{SLUG}/posts/{post}"
    assert await db.fetchval("SELECT state FROM threads WHERE id = $1", thread) == "visible"
    assert await db.fetchval("SELECT state FROM posts WHERE id = $1", post) == "visible"
    assert await db.fetchval("SELECT approved_posts FROM memberships WHERE user_id = $1", newbie) == 1
    told = await db.fetch("SELECT user_id, kind, actor_id FROM notifications WHERE kind <> 'review' ORDER BY user_id")
    # The mention goes out now, from the author; the author hears that a leader approved it.
    assert sorted((row["user_id"], row["kind"], row["actor_id"]) for row in told) == sorted(
        [(cast["member"], "mention", newbie), (newbie, "moderation", cast["leader"])]
    )
    # And the leaders' notice that it waited is read now: it waits no more.
    assert await db.fetchval("SELECT read_at IS NOT NULL FROM notifications WHERE kind = 'review'")
    assert await db.fetchval("SELECT action FROM moderation_actions") == "approve_post"
    await login(client, "member")
    assert "Hello from Lyon" in (await client.get(f"/c/{SLUG}/forum")).text
    await login(client, "newbie")
    assert "A leader approved your thread “Hello from Lyon”" in (await client.get("/notifications")).text


async def test_a_held_reply_is_not_counted_until_approved_and_then_notifies_the_thread_author(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await _newcomer(db, cast["community"])
    thread = await create_thread(db, cast["community"], cast["member"], "Sleep tips")
    token = await login(client, "newbie")
    replied = await client.post(
        f"/c/{SLUG}/t/{thread}/reply", data={"body": "We use a wedge pillow", "csrf_token": token}
    )
    assert replied.status_code == 303
    reply = await db.fetchval("SELECT id FROM posts WHERE body_md = 'We use a wedge pillow'")
    assert await db.fetchval("SELECT state FROM posts WHERE id = $1", reply) == "held"
    assert await db.fetchval("SELECT reply_count FROM threads WHERE id = $1", thread) == 0
    assert await db.fetchval("SELECT count(*) FROM notifications WHERE kind <> 'review'") == 0
    assert "Waiting for review" in (await client.get(f"/c/{SLUG}/t/{thread}")).text
    await login(client, "member")
    assert "wedge pillow" not in (await client.get(f"/c/{SLUG}/t/{thread}")).text

    token = await login(client, "leader")
    assert (await client.post(f"/c/{SLUG}/review/posts/{reply}/approve", data={"csrf_token": token})).status_code == 303
    assert await db.fetchval("SELECT reply_count FROM threads WHERE id = $1", thread) == 1
    assert await db.fetchval("SELECT kind FROM notifications WHERE user_id = $1", cast["member"]) == "reply"
    await login(client, "member")
    assert "wedge pillow" in (await client.get(f"/c/{SLUG}/t/{thread}")).text


async def test_the_hold_lifts_after_the_communitys_number_of_approved_posts(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await db.execute("UPDATE communities SET hold_release_after = 1 WHERE id = $1", cast["community"])
    await _newcomer(db, cast["community"])
    thread = await create_thread(db, cast["community"], cast["member"])
    token = await login(client, "newbie")
    await client.post(f"/c/{SLUG}/t/{thread}/reply", data={"body": "First words", "csrf_token": token})
    first = await db.fetchval("SELECT id FROM posts WHERE body_md = 'First words'")
    leader_token = await login(client, "leader")
    await client.post(f"/c/{SLUG}/review/posts/{first}/approve", data={"csrf_token": leader_token})
    token = await login(client, "newbie")
    await client.post(f"/c/{SLUG}/t/{thread}/reply", data={"body": "Second words", "csrf_token": token})
    assert await db.fetchval("SELECT state FROM posts WHERE body_md = 'Second words'") == "visible"


async def test_a_rejected_thread_is_hidden_and_its_author_is_told_why(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    newbie = await _newcomer(db, cast["community"])
    token = await login(client, "newbie")
    await client.post(f"/c/{SLUG}/forum/new", data={"title": "Miracle cure", "body": "Buy now", "csrf_token": token})
    thread = await db.fetchval("SELECT id FROM threads")
    post = await db.fetchval("SELECT id FROM posts")
    token = await login(client, "leader")
    empty = await client.post(f"/c/{SLUG}/review/posts/{post}/reject", data={"reason": " ", "csrf_token": token})
    assert empty.status_code == 400 and "Please give a reason" in empty.text
    assert 'aria-describedby="error-post-' in empty.text
    rejected = await client.post(
        f"/c/{SLUG}/review/posts/{post}/reject", data={"reason": "Advertising", "csrf_token": token}
    )
    assert rejected.status_code == 303
    assert await db.fetchval("SELECT state FROM threads WHERE id = $1", thread) == "hidden"
    row = await _row(db, "SELECT state, state_reason FROM posts WHERE id = $1", post)
    assert row == ("hidden", "Advertising")
    assert await db.fetchval("SELECT approved_posts FROM memberships WHERE user_id = $1", newbie) == 0
    entry = await _row(db, "SELECT action, reason, target_user_id FROM moderation_actions")
    assert entry == ("reject_post", "Advertising", newbie)
    await login(client, "newbie")
    assert (await client.get(f"/c/{SLUG}/t/{thread}")).status_code == 404
    notes = (await client.get("/notifications")).text
    assert "A leader did not approve your thread “Miracle cure”. Reason: Advertising" in notes


async def test_only_a_held_post_can_be_approved_or_rejected(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"])
    post = await create_post(db, thread, cast["member"], "Visible already")
    token = await login(client, "leader")
    assert (await client.post(f"/c/{SLUG}/review/posts/{post}/approve", data={"csrf_token": token})).status_code == 409
    response = await client.post(f"/c/{SLUG}/review/posts/{post}/reject", data={"reason": "x", "csrf_token": token})
    assert response.status_code == 409
    assert await db.fetchval("SELECT count(*) FROM moderation_actions") == 0


async def test_the_next_address_after_approving_stays_on_this_site(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await _newcomer(db, cast["community"])
    thread = await create_thread(db, cast["community"], cast["member"])
    post = await create_post(
        db, thread, await db.fetchval("SELECT id FROM users WHERE username = 'newbie'"), "Hi", state="held"
    )
    token = await login(client, "leader")
    response = await client.post(
        f"/c/{SLUG}/review/posts/{post}/approve", data={"next": "https://evil.example/", "csrf_token": token}
    )
    assert response.status_code == 303 and response.headers["location"] == f"/c/{SLUG}/review"


# --- Held chat messages ----------------------------------------------------------------------


async def test_an_approved_chat_message_appears_for_everyone_in_the_room(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    newbie = await _newcomer(db, cast["community"])
    watcher = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast["member"]))
    await watcher.join(ROOM)
    author = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, newbie))
    await author.join(ROOM)
    ack = await author.say(ROOM, "Hello everyone, first time here")
    assert ack["type"] == "ack"
    await watcher.wait_for(lambda f: f["type"] == "remove" and f["seq"] == ack["seq"])
    message_id = await db.fetchval("SELECT id FROM room_messages WHERE seq = $1", ack["seq"])
    assert await db.fetchval("SELECT state FROM room_messages WHERE id = $1", message_id) == "held"

    token = await login(client, "leader")
    queue = await client.get(f"/c/{SLUG}/review")
    assert "Hello everyone, first time here" in queue.text
    approved = await client.post(f"/c/{SLUG}/review/messages/{message_id}/approve", data={"csrf_token": token})
    assert approved.status_code == 303
    shown = await watcher.wait_for(lambda f: f["type"] == "message" and f["seq"] == ack["seq"])
    assert shown["body"] == "Hello everyone, first time here" and not shown.get("held")
    # The author's own client gets it too, now as an ordinary message.
    mine = await author.wait_for(lambda f: f["type"] == "message" and f["seq"] == ack["seq"] and not f.get("held"))
    assert mine["client_id"] == ack["client_id"]
    assert await db.fetchval("SELECT state FROM room_messages WHERE id = $1", message_id) == "visible"
    assert await db.fetchval("SELECT approved_posts FROM memberships WHERE user_id = $1", newbie) == 1
    assert await db.fetchval("SELECT data->>'event' FROM notifications WHERE user_id = $1", newbie) == "approved"
    assert await db.fetchval("SELECT action FROM moderation_actions") == "approve_message"
    await watcher.close()
    await author.close()


async def test_a_rejected_chat_message_stays_hidden_and_its_author_is_told_why(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    newbie = await _newcomer(db, cast["community"])
    author = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, newbie))
    await author.join(ROOM)
    ack = await author.say(ROOM, "spam spam spam")
    # At sending, the author too gets the plain remove everyone else gets; it is not the decision.
    sent_remove = await author.wait_for(lambda f: f["type"] == "remove" and f["seq"] == ack["seq"])
    assert "rejected" not in sent_remove
    message_id = await db.fetchval("SELECT id FROM room_messages WHERE seq = $1", ack["seq"])
    token = await login(client, "leader")
    response = await client.post(
        f"/c/{SLUG}/review/messages/{message_id}/reject", data={"reason": "Spam", "csrf_token": token}
    )
    assert response.status_code == 303
    # The author's open room page learns the decision at once and stops showing "waiting for review".
    await author.wait_for(lambda f: f["type"] == "remove" and f["seq"] == ack["seq"] and f.get("rejected") is True)
    row = await _row(db, "SELECT state, state_reason FROM room_messages WHERE id = $1", message_id)
    assert row == ("hidden", "Spam")
    await login(client, "newbie")
    assert (
        "A leader did not approve your message in Main room. Reason: Spam" in (await client.get("/notifications")).text
    )
    await login(client, "member")
    assert "spam spam spam" not in (await client.get(f"/c/{SLUG}/live")).text
    await author.close()


# --- Settings --------------------------------------------------------------------------------


async def test_leaders_switch_the_hold_off_and_choose_its_numbers_logged(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await _newcomer(db, cast["community"])
    token = await login(client, "leader")
    response = await client.post(
        f"/c/{SLUG}/review/settings",
        data={"hold_release_after": "5", "flag_hide_threshold": "2", "csrf_token": token},  # checkbox left unticked
    )
    assert response.status_code == 303
    row = await _row(
        db,
        "SELECT hold_first_posts, hold_release_after, flag_hide_threshold FROM communities WHERE id = $1",
        cast["community"],
    )
    assert row == (False, 5, 2)
    entry = await db.fetchrow("SELECT action, details FROM moderation_actions")
    assert entry["action"] == "moderation_settings" and entry["details"]["hold_first_posts"] == [True, False]
    # With the hold off, a newcomer's thread appears at once.
    token = await login(client, "newbie")
    await client.post(f"/c/{SLUG}/forum/new", data={"title": "Straight in", "body": "Hi", "csrf_token": token})
    assert await db.fetchval("SELECT state FROM threads WHERE title = 'Straight in'") == "visible"


@pytest.mark.parametrize(
    ("field", "value"), [("hold_release_after", "101"), ("hold_release_after", "-1"), ("flag_hide_threshold", "0")]
)
async def test_settings_out_of_range_are_refused_with_the_values_kept(
    client: httpx.AsyncClient, db: asyncpg.Connection, field: str, value: str
) -> None:
    await create_cast(db)
    before = await table_rows(db, *TABLES)
    token = await login(client, "leader")
    data = {"hold_first_posts": "on", "hold_release_after": "2", "flag_hide_threshold": "3", field: value}
    response = await client.post(f"/c/{SLUG}/review/settings", data={**data, "csrf_token": token})
    assert response.status_code == 400 and f'value="{value}"' in response.text
    assert f'aria-describedby="f-{field}-error"' in response.text
    assert await table_rows(db, *TABLES) == before


# --- Who may review --------------------------------------------------------------------------


@pytest.mark.parametrize("who", REFUSED)
async def test_only_leaders_and_admins_review_and_everyone_else_is_refused(
    client: httpx.AsyncClient, db: asyncpg.Connection, who: str
) -> None:
    cast = await create_cast(db)
    newbie = await _newcomer(db, cast["community"])
    thread = await create_thread(db, cast["community"], cast["member"])
    held = await create_post(db, thread, newbie, "Held words", state="held")
    flagged = await create_post(db, thread, cast["member"], "Flagged words")
    await db.execute(
        """INSERT INTO flags (community_id, post_id, subject_user_id, flagger_id, reason)
           VALUES ($1, $2, $3, $4, 'unkind')""",
        cast["community"],
        flagged,
        cast["member"],
        cast["leader"],
    )
    room = await db.fetchval("SELECT id FROM rooms WHERE community_id = $1", cast["community"])
    message = await db.fetchval(
        """INSERT INTO room_messages (room_id, seq, author_id, client_msg_id, body, state)
           VALUES ($1, 1, $2, 'c1', 'Held chat', 'held') RETURNING id""",
        room,
        newbie,
    )
    before = await table_rows(db, *TABLES)
    token = await _sign_in(client, who)
    refusal = 401 if who == "anonymous" else 403
    assert (await client.get(f"/c/{SLUG}/review")).status_code == refusal
    posts_ = {"approve": held, "reject": held, "uphold": flagged, "dismiss": flagged}
    for verb, post in posts_.items():
        response = await client.post(f"/c/{SLUG}/review/posts/{post}/{verb}", data={"reason": "x", "csrf_token": token})
        assert response.status_code == refusal, (verb, response.status_code)
    for verb in ("approve", "reject", "uphold", "dismiss"):
        response = await client.post(
            f"/c/{SLUG}/review/messages/{message}/{verb}", data={"reason": "x", "csrf_token": token}
        )
        assert response.status_code == refusal, (verb, response.status_code)
    # Refused before the input is looked at: an item that does not exist, settings out of range.
    assert (
        await client.post(f"/c/{SLUG}/review/posts/999999/approve", data={"csrf_token": token})
    ).status_code == refusal
    settings = {"hold_release_after": "abc", "flag_hide_threshold": "1", "csrf_token": token}
    assert (await client.post(f"/c/{SLUG}/review/settings", data=settings)).status_code == refusal
    assert await table_rows(db, *TABLES) == before


async def test_a_site_admin_reviews_any_community(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    newbie = await _newcomer(db, cast["community"])
    thread = await create_thread(db, cast["community"], cast["member"])
    held = await create_post(db, thread, newbie, "Held words", state="held")
    token = await login(client, "siteadmin")
    assert (await client.get(f"/c/{SLUG}/review")).status_code == 200
    assert (await client.post(f"/c/{SLUG}/review/posts/{held}/approve", data={"csrf_token": token})).status_code == 303
    assert await db.fetchval("SELECT state FROM posts WHERE id = $1", held) == "visible"


async def test_the_community_page_links_leaders_to_the_review_queue(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    await login(client, "leader")
    page = (await client.get(f"/c/{SLUG}")).text
    assert f'href="/c/{SLUG}/review"' in page and f'href="/c/{SLUG}/members"' in page
    assert f'href="/c/{SLUG}/audit"' in page
    await login(client, "member")
    assert f'href="/c/{SLUG}/review"' not in (await client.get(f"/c/{SLUG}")).text


async def test_the_live_room_gives_leaders_the_slow_mode_form(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_cast(db)
    token = await login(client, "leader")
    page = await client.get(f"/c/{SLUG}/live/main")
    assert f'action="/c/{SLUG}/live/main/slow-mode"' in page.text and page_problems(page.text) == []
    saved = await client.post(f"/c/{SLUG}/live/main/slow-mode", data={"seconds": "30", "csrf_token": token})
    assert saved.status_code == 303
    assert 'value="30"' in (await client.get(f"/c/{SLUG}/live/main")).text
    await login(client, "member")
    assert "/slow-mode" not in (await client.get(f"/c/{SLUG}/live/main")).text


async def test_approving_a_held_reply_updates_open_thread_pages_and_the_notified_members_counts(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    newbie = await _newcomer(db, cast["community"])
    thread = await create_thread(db, cast["community"], cast["member"], "Sleep tips")
    reply = await create_post(db, thread, newbie, "A held reply", state="held")
    reader = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast["member"]))
    await reader.send({"type": "watch", "topic": f"thread:{thread}"})
    await reader.wait_for(lambda f: f["type"] == "watching")
    await reader.send({"type": "watch", "topic": "member:me"})
    await reader.wait_for(lambda f: f["type"] == "watching" and f["topic"] == "member:me")
    token = await login(client, "leader")
    assert (await client.post(f"/c/{SLUG}/review/posts/{reply}/approve", data={"csrf_token": token})).status_code == 303
    changed = await reader.wait_for(lambda f: f["type"] == "thread")
    assert (changed["thread"], changed["post"], changed["change"]) == (thread, reply, "new")
    assert (await reader.wait_for(lambda f: f["type"] == "notify"))["count"] == 1  # the thread author's reply
    await reader.close()


async def test_a_held_chat_message_notifies_the_members_it_mentions_only_once_approved(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    newbie = await _newcomer(db, cast["community"])
    author = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, newbie))
    await author.join(ROOM)
    ack = await author.say(ROOM, "Thank you @member for the welcome")
    await author.send({"type": "ping"})
    await author.wait_for(lambda f: f["type"] == "pong")
    mentions = "SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = 'mention'"
    assert await db.fetchval(mentions, cast["member"]) == 0
    message_id = await db.fetchval("SELECT id FROM room_messages WHERE seq = $1", ack["seq"])
    token = await login(client, "leader")
    approved = await client.post(f"/c/{SLUG}/review/messages/{message_id}/approve", data={"csrf_token": token})
    assert approved.status_code == 303
    assert await db.fetchval(mentions, cast["member"]) == 1
    await author.close()

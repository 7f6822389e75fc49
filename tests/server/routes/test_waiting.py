"""Leaders and admins are never left waiting (server/actions/waiting.py): each held item, flag and proposal
notifies them, counts on their badges, and is settled for all of them, live, once someone deals with it."""

from __future__ import annotations

import asyncpg
import httpx

from server.actions import flags as flag_actions
from server.db.queries import notifications
from tests.factories import add_member, create_cast, create_post, create_session, create_thread, create_user, login
from tests.harness import LiveServer
from tests.live_client import LiveClient

SLUG = "test-condition"
ROOM = f"{SLUG}/main"


async def _newcomer(db: asyncpg.Connection, community: int, name: str = "newbie") -> int:
    user_id = await create_user(db, name)
    await add_member(db, community, user_id, approved_posts=0)
    return user_id


async def _watch_badge(server: LiveServer, db: asyncpg.Connection, user_id: int) -> LiveClient:
    watcher = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, user_id))
    await watcher.send({"type": "watch", "topic": "member:me"})
    await watcher.wait_for(lambda f: f["type"] == "watching" and f["topic"] == "member:me")
    return watcher


async def test_a_newcomers_held_first_message_rises_the_leaders_badge_live_and_approving_it_drops_it(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    newbie = await _newcomer(db, cast["community"])
    leader_badge = await _watch_badge(server, db, cast["leader"])
    author = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, newbie))
    await author.join(ROOM)
    assert (await author.say(ROOM, "Hello, we just got the diagnosis"))["type"] == "ack"
    rise = await leader_badge.wait_for(lambda f: f["type"] == "notify")
    assert rise == {"type": "notify", "count": 1, "review": SLUG}
    token = await login(client, "leader")
    page = (await client.get(f"/c/{SLUG}")).text
    assert 'class="badge review-count">1<' in page
    listing = (await client.get("/notifications")).text
    assert "first message in Main room waits for review in Test Condition" in listing
    message_id = await db.fetchval("SELECT id FROM room_messages WHERE author_id = $1", newbie)
    start = len(leader_badge.frames)
    approved = await client.post(f"/c/{SLUG}/review/messages/{message_id}/approve", data={"csrf_token": token})
    assert approved.status_code == 303
    drop = await leader_badge.wait_for(lambda f: f["type"] == "notify", start=start)
    assert drop == {"type": "notify", "count": -1, "review": SLUG}
    assert "review-count" not in (await client.get(f"/c/{SLUG}")).text
    assert await notifications.unread_count(db, cast["leader"]) == 0
    await author.close()
    await leader_badge.close()


async def test_a_held_reply_notifies_every_leader_and_one_leaders_decision_settles_it_for_all(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    second = await create_user(db, "secondleader")
    await add_member(db, cast["community"], second, "leader")
    newbie = await _newcomer(db, cast["community"])
    thread = await create_thread(db, cast["community"], cast["member"], "Sleep tips")
    token = await login(client, "newbie")
    await client.post(f"/c/{SLUG}/t/{thread}/reply", data={"body": "We use a wedge pillow", "csrf_token": token})
    kinds = await db.fetch("SELECT user_id, kind FROM notifications WHERE read_at IS NULL ORDER BY user_id")
    assert [(row["user_id"], row["kind"]) for row in kinds] == [(cast["leader"], "review"), (second, "review")]
    reply = await db.fetchval("SELECT id FROM posts WHERE author_id = $1", newbie)
    token = await login(client, "secondleader")
    rejected = await client.post(
        f"/c/{SLUG}/review/posts/{reply}/reject", data={"reason": "Off topic", "csrf_token": token}
    )
    assert rejected.status_code == 303
    assert await notifications.unread_count(db, cast["leader"]) == 0
    assert await notifications.unread_count(db, second) == 0


async def test_the_introduction_form_promise_is_kept_the_leaders_are_told(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await _newcomer(db, cast["community"])
    await db.execute("UPDATE communities SET introductions_open = true WHERE id = $1", cast["community"])
    token = await login(client, "newbie")
    form = (await client.get(f"/c/{SLUG}/introductions/new")).text
    assert "leaders" in form.lower()
    sent = await client.post(
        f"/c/{SLUG}/introductions/new",
        data={"title": "Hello from Lyon", "body": "Our son was diagnosed last month.", "csrf_token": token},
    )
    assert sent.status_code == 303, sent.text[:300]
    assert await db.fetchval(
        "SELECT data->>'what' FROM notifications WHERE user_id = $1 AND kind = 'review'", cast["leader"]
    ) in {"introduction", "thread"}


async def test_a_flag_waits_for_every_leader_until_one_of_them_answers_it(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    second = await create_user(db, "secondleader")
    await add_member(db, cast["community"], second, "leader")
    thread = await create_thread(db, cast["community"], cast["leader"], "Sleep tips")
    post = await create_post(db, thread, cast["member"], "Buy my miracle cure")
    token = await login(client, "outsider")
    await db.execute(
        "INSERT INTO memberships (community_id, user_id) VALUES ($1, $2)", cast["community"], cast["outsider"]
    )
    flagged = await client.post(
        f"/c/{SLUG}/posts/{post}/flag", data={"reason": "spam", "note": "", "csrf_token": token}
    )
    assert flagged.status_code in {200, 303}
    assert await notifications.unread_count(db, cast["leader"]) == 1
    assert await notifications.unread_count(db, second) == 1
    token = await login(client, "leader")
    await client.post(f"/c/{SLUG}/review/posts/{post}/uphold", data={"reason": "Spam", "csrf_token": token})
    assert await notifications.unread_count(db, cast["leader"]) == 0
    assert await notifications.unread_count(db, second) == 0


async def test_a_community_proposal_notifies_the_site_admins_until_one_decides(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    token = await login(client, "member")
    proposed = await client.post(
        "/communities/new",
        data={
            "name": "Very Rare Syndrome",
            "description": "A syndrome with no community yet.",
            "reason": "We are three families looking for others.",
            "csrf_token": token,
        },
    )
    assert proposed.status_code in {200, 303}, proposed.text[:300]
    proposal = await db.fetchval("SELECT id FROM community_proposals")
    assert proposal is not None
    assert await db.fetchval(
        "SELECT kind FROM notifications WHERE user_id = $1 AND read_at IS NULL", cast["admin"]
    ) == ("review")
    token = await login(client, "siteadmin")
    assert "waits for a site admin" in (await client.get("/notifications")).text
    await client.post(
        f"/admin/proposals/{proposal}/decision", data={"decision": "approve", "reason": "", "csrf_token": token}
    )
    assert await notifications.unread_count(db, cast["admin"]) == 0


async def test_what_waits_for_leaders_goes_in_their_email_digest_without_opting_in(db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    await db.execute("UPDATE users SET email = 'leader@example.org' WHERE id = $1", cast["leader"])
    await db.execute("UPDATE users SET email = 'member@example.org' WHERE id = $1", cast["member"])
    for user_id, kind in ((cast["leader"], "review"), (cast["member"], "reply")):
        await db.execute(
            "INSERT INTO notifications (user_id, kind, community_id, data) VALUES ($1, $2, $3, '{}')",
            user_id,
            kind,
            cast["community"],
        )
    recipients = await notifications.digest_recipients(db)
    assert [recipient.user_id for recipient in recipients] == [cast["leader"]]
    await db.execute(
        "INSERT INTO notification_preferences (user_id, kind, in_app, email) VALUES ($1, 'review', true, false)",
        cast["leader"],
    )
    assert await notifications.digest_recipients(db) == []


async def test_the_admins_notice_of_overdue_flags_is_settled_once_none_of_them_is_open(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"], "Sleep tips")
    post = await create_post(db, thread, cast["member"], "Buy my miracle cure")
    await db.execute(
        """INSERT INTO flags (community_id, post_id, subject_user_id, flagger_id, reason, created_at)
           VALUES ($1, $2, $3, $4, 'spam', now() - interval '2 hours')""",
        cast["community"], post, cast["member"], cast["muted"],
    )  # fmt: skip
    assert await flag_actions.escalate_overdue(db, 60) == 1
    assert await notifications.unread_count(db, cast["admin"]) == 1
    token = await login(client, "siteadmin")
    assert "waited for a leader too long" in (await client.get("/notifications")).text
    await client.post(f"/c/{SLUG}/review/posts/{post}/uphold", data={"reason": "Spam", "csrf_token": token})
    assert await notifications.unread_count(db, cast["admin"]) == 0


async def test_two_notices_settled_at_once_drop_the_badge_by_two(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"], "Sleep tips")
    post = await create_post(db, thread, cast["leader"], "A leader's unkind words")
    token = await login(client, "member")
    await client.post(f"/c/{SLUG}/posts/{post}/flag", data={"reason": "unkind", "note": "", "csrf_token": token})
    await db.execute("UPDATE flags SET created_at = now() - interval '2 hours'")
    assert await flag_actions.escalate_overdue(db, 60) == 1
    # The site admin holds two notices about it: the flag about a leader, and its escalation.
    assert await notifications.unread_count(db, cast["admin"]) == 2
    badge = await _watch_badge(server, db, cast["admin"])
    token = await login(client, "siteadmin")
    await client.post(f"/c/{SLUG}/review/posts/{post}/uphold", data={"reason": "Unkind", "csrf_token": token})
    assert await badge.wait_for(lambda f: f["type"] == "notify") == {"type": "notify", "count": -2, "review": SLUG}
    assert await notifications.unread_count(db, cast["admin"]) == 0
    await badge.close()


async def test_a_leader_who_switches_review_notices_off_gets_neither_the_live_push_nor_the_email(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await db.execute("UPDATE users SET email = 'leader@example.org' WHERE id = $1", cast["leader"])
    token = await login(client, "leader")
    page = (await client.get("/notifications")).text
    assert 'name="in_app" value="review"' in page and 'name="email" value="review"' in page
    kept = ["reply", "mention", "answer", "accepted", "welcome", "introduction", "consent"]  # all but review
    saved = await client.post("/notifications/preferences", data={"in_app": kept, "csrf_token": token})
    assert saved.status_code == 303
    newbie = await _newcomer(db, cast["community"])
    leader_badge = await _watch_badge(server, db, cast["leader"])
    author = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, newbie))
    await author.join(ROOM)
    assert (await author.say(ROOM, "Hello, we just got the diagnosis"))["type"] == "ack"
    member = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast["member"]))
    await member.join(ROOM)
    assert (await member.say(ROOM, "Welcome! @leader can help you"))["type"] == "ack"
    # The first push the leader gets is the mention, sent after the held message: no review notice came.
    first = await leader_badge.wait_for(lambda f: f["type"] == "notify")
    assert first.get("review") != SLUG
    assert [
        row["kind"] for row in await db.fetch("SELECT kind FROM notifications WHERE user_id = $1", cast["leader"])
    ] == ["mention"]
    await db.execute(
        "INSERT INTO notifications (user_id, kind, community_id, data) VALUES ($1, 'review', $2, '{}')",
        cast["leader"],
        cast["community"],
    )
    await db.execute("UPDATE notifications SET read_at = now() WHERE kind = 'mention'")
    assert await notifications.digest_recipients(db) == []
    await author.close()
    await member.close()
    await leader_badge.close()


async def test_the_forums_sections_show_a_leader_the_review_queues_count_and_a_member_nothing(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    newbie = await _newcomer(db, cast["community"])
    thread = await create_thread(db, cast["community"], cast["member"], "Sleep tips")
    token = await login(client, "newbie")
    held = await client.post(f"/c/{SLUG}/t/{thread}/reply", data={"body": "We use a wedge pillow", "csrf_token": token})
    assert held.status_code == 303
    assert await db.fetchval("SELECT count(*) FROM posts WHERE author_id = $1 AND state = 'held'", newbie) == 1
    pages = [
        f"/c/{SLUG}/forum",
        f"/c/{SLUG}/questions",
        f"/c/{SLUG}/introductions",
        f"/c/{SLUG}/forum/new",
        f"/c/{SLUG}/t/{thread}",
    ]
    await login(client, "leader")
    for path in pages:
        nav = (await client.get(path)).text.split('<nav class="forum-nav"', 1)[1].split("</nav>", 1)[0]
        assert f'<a href="/c/{SLUG}/review" class="review-link"' in nav, path
        assert 'class="badge review-count">1<' in nav, path
    await login(client, "member")
    for path in pages:
        page = (await client.get(path)).text
        assert '<nav class="forum-nav"' in page and "review-link" not in page, path

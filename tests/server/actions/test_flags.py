"""Flag rules without HTTP: escalation happens once, and moderation notifications read in the reader's language."""

from __future__ import annotations

import asyncio
import contextvars
from datetime import UTC, datetime
from typing import Any

import asyncpg

from server import i18n
from server.actions import flags
from server.actions.access import actor_for
from server.actions.notifications import describe
from server.db.pool import connect
from server.db.queries import users
from server.db.queries.notifications import Notification
from tests.factories import add_member, create_cast, create_post, create_thread, create_user


async def _flag_at(db: asyncpg.Connection, cast: dict[str, int], post: int, minutes_ago: int, flagger: str) -> None:
    await db.execute(
        """INSERT INTO flags (community_id, post_id, subject_user_id, flagger_id, reason, created_at)
           VALUES ($1, $2, $3, $4, 'spam', now() - make_interval(mins => $5))""",
        cast["community"],
        post,
        cast["member"],
        cast[flagger],
        minutes_ago,
    )


async def test_overdue_flags_are_escalated_once_even_when_two_processes_look_at_once(
    db: asyncpg.Connection, database_url: str
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    post = await create_post(db, thread, cast["member"], "Spam")
    await _flag_at(db, cast, post, 90, "outsider")
    await _flag_at(db, cast, post, 70, "leader")
    await _flag_at(db, cast, post, 10, "other_leader")
    other = await connect(database_url)
    try:
        counts = await asyncio.gather(flags.escalate_overdue(db, 60), flags.escalate_overdue(other, 60))
    finally:
        await other.close()
    # Two flags were overdue: between the two sweeps they were escalated exactly once.
    assert sorted(counts) == [0, 1]  # one item (the post), counted once
    assert await db.fetchval("SELECT count(*) FROM flags WHERE escalated_at IS NOT NULL") == 2
    told = await db.fetch("SELECT user_id, kind, data FROM notifications")
    assert [(row["user_id"], row["kind"], row["data"]["count"]) for row in told] == [(cast["admin"], "flag", 1)]
    assert await flags.escalate_overdue(db, 60) == 0


async def test_a_handled_flag_is_never_escalated(db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    post = await create_post(db, thread, cast["member"], "Spam")
    await _flag_at(db, cast, post, 90, "outsider")
    await db.execute("UPDATE flags SET status = 'dismissed'")
    assert await flags.escalate_overdue(db, 60) == 0
    assert await db.fetchval("SELECT count(*) FROM notifications") == 0


def _notification(kind: str, data: dict[str, Any], **fields: Any) -> Notification:
    values: dict[str, Any] = {
        "id": 1,
        "kind": kind,
        "created_at": datetime.now(UTC),
        "read_at": None,
        "thread_id": None,
        "post_id": None,
        "data": data,
        "thread_title": None,
        "community_slug": "cms",
        "community_name": "CMS",
        "actor_username": "amara",
        "actor_display_name": "Amara",
    }
    values.update(fields)
    return Notification(**values)


def _in(language: str, notification: Notification) -> str:
    def run() -> str:
        i18n.set_request_locale(language, "UTC")
        return describe(notification).text

    return contextvars.copy_context().run(run)


def test_moderation_flag_and_crisis_notifications_have_their_own_sentences() -> None:
    hidden = _notification("moderation", {"event": "hidden", "what": "post", "reason": "Spam", "title": "Sleep"})
    assert _in("en", hidden) == "A leader hid your post in “Sleep”. Reason: Spam"
    approved = _notification(
        "moderation", {"event": "approved", "what": "message", "room": "Main room", "url": "/c/cms/live/main"}
    )
    assert _in("en", approved) == "A leader approved your message in Main room: everyone can see it now."
    assert describe(approved).url == "/c/cms/live/main"
    flagged = _notification("flag", {"event": "new", "what": "post", "url": "/c/cms/review"})
    assert _in("en", flagged) == "Something in CMS was flagged for review."
    assert describe(flagged).url == "/c/cms/review"
    escalated = _notification("flag", {"event": "escalated", "count": 3, "url": "/admin/flags"})
    assert _in("en", escalated) == "3 flags in CMS have waited for a leader too long: please look at them."
    crisis = _notification("crisis", {"event": "new", "what": "message", "url": "/c/cms/review"})
    assert _in("en", crisis) == "Someone may be at risk in CMS: please look at the review queue now."


def test_a_proposal_notification_is_written_in_the_readers_language_from_its_data() -> None:
    declined = _notification(
        "proposal",
        # The stored message is in the admin's language; the reader gets their own.
        {"status": "declined", "reason": "Duplicate", "community": "Rare X", "message": "stale English"},
        community_slug=None,
        community_name=None,
    )
    assert _in("en", declined) == "Your proposal for Rare X was declined. Reason: Duplicate"
    assert _in("fr", declined) == "Votre proposition pour Rare X a été refusée. Motif\u00a0: Duplicate"
    approved = _notification("proposal", {"status": "approved", "community": "Rare X"})
    assert _in("en", approved) == "Your proposal for Rare X was approved: the community is open."


async def test_members_flagging_at_the_same_moment_hide_the_post_once(
    db: asyncpg.Connection, database_url: str
) -> None:
    cast = await create_cast(db)
    await db.execute("UPDATE communities SET flag_hide_threshold = 2 WHERE id = $1", cast["community"])
    thread = await create_thread(db, cast["community"], cast["leader"])
    post = await create_post(db, thread, cast["member"], "Rude")
    second = await create_user(db, "second")
    await add_member(db, cast["community"], second)
    other = await connect(database_url)
    try:
        actors = [
            await actor_for(db, await users.by_id(db, cast["leader"]), cast["community"]),
            await actor_for(other, await users.by_id(other, second), cast["community"]),
        ]
        done = await asyncio.gather(
            flags.do_flag_post(db, actors[0], post, reason="unkind", note=""),
            flags.do_flag_post(other, actors[1], post, reason="unkind", note=""),
        )
    finally:
        await other.close()
    assert sorted(flagged.hidden_now for flagged in done) == [False, True]
    assert await db.fetchval("SELECT state FROM posts WHERE id = $1", post) == "held"
    assert await db.fetchval("SELECT reply_count FROM threads WHERE id = $1", thread) == 0
    assert await db.fetchval("SELECT count(*) FROM moderation_actions WHERE action = 'hide_by_flags'") == 1

"""Forum pages over HTTP: thread lists, threads, replies, quotes, edits, deletion, reactions, locks and permissions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories import (
    add_member,
    create_cast,
    create_community,
    create_post,
    create_thread,
    create_user,
    login,
    table_rows,
)
from tests.test_templates import page_problems

SLUG = "test-condition"
FORUM_TABLES = ("threads", "posts", "post_revisions", "reactions", "notifications")


def _titles(html: str) -> list[str]:
    return re.findall(r'<p class="thread-title">\s*<a href="/c/[^"]+/t/\d+">([^<]+)</a>', html)


async def _thread_at(
    db: asyncpg.Connection, community_id: int, author_id: int, title: str, hours_ago: float, **kw: Any
) -> int:
    stamp = datetime.now(UTC) - timedelta(hours=hours_ago)
    return await create_thread(db, community_id, author_id, title, last_activity_at=stamp, created_at=stamp, **kw)


# --- Lists ------------------------------------------------------------------------------


async def test_the_forum_lists_pinned_threads_first_then_by_last_activity(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    community, member = cast["community"], cast["member"]
    await _thread_at(db, community, member, "Old news", 50)
    await _thread_at(db, community, member, "Fresh question", 1, kind="question")
    await _thread_at(db, community, cast["leader"], "House rules", 100, pinned=True)
    middle = await _thread_at(db, community, member, "Middle", 10)
    await create_post(db, middle, cast["leader"])  # a reply moves it to the top of the unpinned ones
    page = await client.get(f"/c/{SLUG}/forum")
    assert page.status_code == 200
    assert _titles(page.text) == ["House rules", "Middle", "Fresh question", "Old news"]
    assert "Started by Member" in page.text and "1 reply" in page.text and "0 replies" in page.text
    assert "Question" in page.text and "Pinned" in page.text
    assert page_problems(page.text) == []


async def test_the_thread_list_pages_with_a_keyset_cursor_and_refuses_a_forged_one(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    for number in range(35):
        await _thread_at(db, cast["community"], cast["member"], f"Thread {number:02d}", number, pinned=number == 20)
    first = await client.get(f"/c/{SLUG}/forum")
    titles = _titles(first.text)
    assert len(titles) == 30 and titles[0] == "Thread 20" and titles[1] == "Thread 00"
    cursor = re.search(r'href="\?cursor=([^"&]+)"', first.text)
    assert cursor
    second = await client.get(f"/c/{SLUG}/forum", params={"cursor": cursor.group(1)})
    rest = _titles(second.text)
    assert len(rest) == 5 and not set(rest) & set(titles)
    assert sorted(titles + rest) == sorted(f"Thread {number:02d}" for number in range(35))
    assert "?cursor=" not in second.text
    for forged in ["nonsense", "MX4yMDI2LTAxLTAx", "A" * 300]:
        refused = await client.get(f"/c/{SLUG}/forum", params={"cursor": forged})
        assert refused.status_code == 400


async def test_an_unknown_community_or_thread_is_404(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["other_community"], cast["other_leader"])
    assert (await client.get("/c/no-such-place/forum")).status_code == 404
    assert (await client.get(f"/c/{SLUG}/t/999999")).status_code == 404
    # A thread exists only under its own community's address.
    assert (await client.get(f"/c/{SLUG}/t/{thread}")).status_code == 404
    assert (await client.get(f"/c/other-condition/t/{thread}")).status_code == 200


# --- Starting threads and replying ------------------------------------------------------


async def test_a_member_starts_a_thread_and_reads_it_back(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    token = await login(client, "member")
    form = await client.get(f"/c/{SLUG}/forum/new")
    assert form.status_code == 200 and page_problems(form.text) == []
    response = await client.post(
        f"/c/{SLUG}/forum/new",
        data={"title": "  Night-time   breathing ", "body": "Does anyone use **BiPAP**?", "csrf_token": token},
    )
    assert response.status_code == 303
    thread_id = int(response.headers["location"].rsplit("/", 1)[1])
    row = await db.fetchrow("SELECT title, kind, author_id, reply_count FROM threads WHERE id = $1", thread_id)
    assert row is not None and dict(row) == {
        "title": "Night-time breathing",
        "kind": "discussion",
        "author_id": cast["member"],
        "reply_count": 0,
    }
    page = await client.get(response.headers["location"])
    assert "<h1>Night-time breathing</h1>" in page.text and "<strong>BiPAP</strong>" in page.text
    assert page_problems(page.text) == []


@pytest.mark.parametrize(
    ("title", "body", "message"),
    [
        ("", "Some text I wrote", "Please give your thread a title."),
        ("x" * 201, "Some text I wrote", "at most 200 characters"),
        ("A title I wrote", "   ", "Please write something"),
    ],
)
async def test_a_new_thread_that_fails_validation_comes_back_with_the_text_and_the_reason(
    client: httpx.AsyncClient, db: asyncpg.Connection, title: str, body: str, message: str
) -> None:
    await create_cast(db)
    token = await login(client, "member")
    response = await client.post(f"/c/{SLUG}/forum/new", data={"title": title, "body": body, "csrf_token": token})
    assert response.status_code == 400
    assert message in response.text
    if body.strip():
        assert body in response.text
    if title.strip():
        assert f'value="{title}"' in response.text
    assert await db.fetchval("SELECT count(*) FROM threads") == 0


async def test_a_reply_appears_in_the_thread_and_counts(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"], "Welcome", "Hello all")
    token = await login(client, "member")
    response = await client.post(
        f"/c/{SLUG}/t/{thread}/reply", data={"body": "Thanks, glad to be here", "csrf_token": token}
    )
    assert response.status_code == 303
    post_id = await db.fetchval("SELECT max(id) FROM posts")
    assert response.headers["location"] == f"/c/{SLUG}/t/{thread}#post-{post_id}"
    assert await db.fetchval("SELECT reply_count FROM threads WHERE id = $1", thread) == 1
    page = await client.get(f"/c/{SLUG}/t/{thread}")
    assert f'id="post-{post_id}"' in page.text and "Thanks, glad to be here" in page.text


async def test_a_reply_that_fails_validation_keeps_the_draft(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    token = await login(client, "member")
    draft = "My long story " * 4000  # over 50,000 characters
    response = await client.post(f"/c/{SLUG}/t/{thread}/reply", data={"body": draft, "csrf_token": token})
    assert response.status_code == 400
    assert "at most 50000 characters" in response.text
    assert draft.strip() in response.text  # the textarea still holds every word
    assert 'aria-invalid="true"' in response.text and page_problems(response.text) == []
    assert await db.fetchval("SELECT count(*) FROM posts") == 1


async def test_member_text_is_rendered_as_safe_markdown_with_nofollow_links(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await create_thread(
        db, cast["community"], cast["member"], "Links", "<script>alert(1)</script> see https://example.org/trial"
    )
    page = await client.get(f"/c/{SLUG}/forum")
    thread_page = await client.get(re.search(r'href="(/c/[^"]+/t/\d+)"', page.text).group(1))
    assert "<script>alert(1)</script>" not in thread_page.text
    assert "&lt;script&gt;" in thread_page.text
    assert '<a href="https://example.org/trial" rel="nofollow ugc noopener">' in thread_page.text


async def test_a_locked_thread_refuses_a_members_reply_and_keeps_the_draft(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"], locked=True)
    before = await table_rows(db, *FORUM_TABLES)
    token = await login(client, "member")
    response = await client.post(
        f"/c/{SLUG}/t/{thread}/reply", data={"body": "But one more thing", "csrf_token": token}
    )
    assert response.status_code == 409
    assert "locked" in response.text and "But one more thing" in response.text
    assert await table_rows(db, *FORUM_TABLES) == before


async def test_a_leader_may_still_reply_in_a_locked_thread(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"], locked=True)
    token = await login(client, "leader")
    response = await client.post(f"/c/{SLUG}/t/{thread}/reply", data={"body": "Closing this.", "csrf_token": token})
    assert response.status_code == 303


async def test_a_member_quotes_a_post_and_the_reply_shows_the_excerpt(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"], "Sleep", "Naps before meals help my son.")
    first = await db.fetchval("SELECT id FROM posts WHERE thread_id = $1", thread)
    token = await login(client, "member")
    form = await client.get(f"/c/{SLUG}/t/{thread}", params={"quote": str(first)})
    assert f'name="reply_to_post_id" value="{first}"' in form.text and "Replying to Leader" in form.text
    response = await client.post(
        f"/c/{SLUG}/t/{thread}/reply",
        data={"body": "We do this too!", "reply_to_post_id": str(first), "csrf_token": token},
    )
    assert response.status_code == 303
    assert await db.fetchval("SELECT reply_to_post_id FROM posts WHERE body_md = 'We do this too!'") == first
    page = await client.get(f"/c/{SLUG}/t/{thread}")
    assert "In reply to Leader" in page.text
    assert page.text.count("Naps before meals help my son.") == 2  # the post itself and the quoted excerpt


async def test_quoting_a_post_of_another_thread_is_refused_and_keeps_the_draft(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    elsewhere = await create_thread(db, cast["community"], cast["leader"], "Elsewhere")
    foreign = await db.fetchval("SELECT id FROM posts WHERE thread_id = $1", elsewhere)
    token = await login(client, "member")
    response = await client.post(
        f"/c/{SLUG}/t/{thread}/reply", data={"body": "My words", "reply_to_post_id": str(foreign), "csrf_token": token}
    )
    assert response.status_code == 400 and "My words" in response.text


async def test_a_reply_on_a_later_page_redirects_to_that_page(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    ids = [await create_post(db, thread, cast["leader"], f"Reply {number}") for number in range(55)]
    token = await login(client, "member")
    response = await client.post(f"/c/{SLUG}/t/{thread}/reply", data={"body": "The newest", "csrf_token": token})
    new_id = await db.fetchval("SELECT max(id) FROM posts")
    # 57 posts: page one holds the first 50 (the opening post and 49 replies).
    assert response.headers["location"] == f"/c/{SLUG}/t/{thread}?after={ids[48]}#post-{new_id}"
    later = await client.get(f"/c/{SLUG}/t/{thread}", params={"after": str(ids[48])})
    assert "The newest" in later.text and "Reply 49" in later.text and "Reply 48" not in later.text
    first_page = await client.get(f"/c/{SLUG}/t/{thread}")
    assert f"?after={ids[48]}" in first_page.text and "The newest" not in first_page.text


# --- Edits, history, deletion -----------------------------------------------------------


async def test_editing_your_post_keeps_a_revision_and_shows_the_edit_history(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    post = await create_post(db, thread, cast["member"], "We tried pyridostigmine.")
    token = await login(client, "member")
    form = await client.get(f"/c/{SLUG}/posts/{post}/edit")
    assert form.status_code == 200 and "We tried pyridostigmine." in form.text and page_problems(form.text) == []
    response = await client.post(
        f"/c/{SLUG}/posts/{post}/edit", data={"body": "We tried pyridostigmine, then salbutamol.", "csrf_token": token}
    )
    assert response.status_code == 303
    row = await db.fetchrow("SELECT body_md, edited_at FROM posts WHERE id = $1", post)
    assert row["body_md"] == "We tried pyridostigmine, then salbutamol." and row["edited_at"] is not None
    revisions = await db.fetch("SELECT body_md, editor_id FROM post_revisions WHERE post_id = $1", post)
    assert [tuple(revision) for revision in revisions] == [("We tried pyridostigmine.", cast["member"])]
    page = await client.get(f"/c/{SLUG}/t/{thread}")
    assert f'href="/c/{SLUG}/posts/{post}/history">edited</a>' in page.text
    history = await client.get(f"/c/{SLUG}/posts/{post}/history")
    assert "We tried pyridostigmine." in history.text and "then salbutamol" in history.text
    assert page_problems(history.text) == []


async def test_an_edit_that_fails_validation_keeps_the_new_text(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"])
    post = await create_post(db, thread, cast["member"], "Original")
    token = await login(client, "member")
    text = "Rewritten " * 6000
    response = await client.post(f"/c/{SLUG}/posts/{post}/edit", data={"body": text, "csrf_token": token})
    assert response.status_code == 400 and text.strip() in response.text
    assert await db.fetchval("SELECT body_md FROM posts WHERE id = $1", post) == "Original"


@pytest.mark.parametrize("who", ["leader", "other_leader", "outsider", "siteadmin"])
async def test_nobody_but_the_author_can_edit_or_delete_a_post(
    client: httpx.AsyncClient, db: asyncpg.Connection, who: str
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    post = await create_post(db, thread, cast["member"], "Mine")
    before = await table_rows(db, *FORUM_TABLES)
    token = await login(client, who)
    edit = await client.post(f"/c/{SLUG}/posts/{post}/edit", data={"body": "Yours now", "csrf_token": token})
    delete = await client.post(f"/c/{SLUG}/posts/{post}/delete", data={"csrf_token": token})
    assert edit.status_code == 403 and delete.status_code == 403
    assert "Yours now" not in edit.text
    assert await table_rows(db, *FORUM_TABLES) == before


async def test_a_deleted_post_shows_as_deleted_keeps_its_text_and_can_be_restored(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    post = await create_post(db, thread, cast["member"], "Something I regret")
    token = await login(client, "member")
    response = await client.post(f"/c/{SLUG}/posts/{post}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    row = await db.fetchrow("SELECT state, body_md FROM posts WHERE id = $1", post)
    assert row is not None and dict(row) == {"state": "deleted", "body_md": "Something I regret"}  # kept for moderation
    assert await db.fetchval("SELECT reply_count FROM threads WHERE id = $1", thread) == 0
    anonymous = httpx.AsyncClient(base_url=str(client.base_url))
    async with anonymous:
        page = await anonymous.get(f"/c/{SLUG}/t/{thread}")
    assert "This post was deleted." in page.text and "Something I regret" not in page.text
    history = await client.get(f"/c/{SLUG}/posts/{post}/history")
    assert history.status_code == 404  # the old text is not readable through the history either
    restored = await client.post(f"/c/{SLUG}/posts/{post}/restore", data={"csrf_token": token})
    assert restored.status_code == 303
    assert await db.fetchval("SELECT state FROM posts WHERE id = $1", post) == "visible"
    assert await db.fetchval("SELECT reply_count FROM threads WHERE id = $1", thread) == 1


async def test_a_post_removed_by_a_leader_cannot_be_restored_by_its_author(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    post = await create_post(db, thread, cast["member"], "Off topic", state="hidden")
    token = await login(client, "member")
    assert (await client.post(f"/c/{SLUG}/posts/{post}/restore", data={"csrf_token": token})).status_code == 409
    assert (await client.post(f"/c/{SLUG}/posts/{post}/delete", data={"csrf_token": token})).status_code == 409
    page = await client.get(f"/c/{SLUG}/t/{thread}")
    assert "This post was hidden by a leader." in page.text and "Off topic" not in page.text


# --- Badges and reactions ---------------------------------------------------------------


async def test_posts_show_leader_and_expert_badges(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    expert = await create_user(db, "drwho", display_name="Dr Who", expert=True)
    await add_member(db, cast["community"], expert)
    thread = await create_thread(db, cast["community"], cast["leader"], body="From the leader")
    await create_post(db, thread, expert, "From the expert")
    await create_post(db, thread, cast["member"], "From a member")
    page = await client.get(f"/c/{SLUG}/t/{thread}")
    articles = re.findall(r'<article class="post[^"]*" id="post-\d+">(.*?)</article>', page.text, re.DOTALL)
    assert len(articles) == 3
    assert "Leader</span>" in articles[0] and "Expert</span>" not in articles[0]
    assert "Expert</span>" in articles[1] and "Leader</span>" not in articles[1]
    assert "badge" not in articles[2]


async def test_reacting_adds_switches_and_removes_and_shows_who_reacted(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    post = await create_post(db, thread, cast["leader"], "Try resting before meals.")
    token = await login(client, "member")

    async def react(kind: str) -> str | None:
        response = await client.post(f"/c/{SLUG}/posts/{post}/react", data={"kind": kind, "csrf_token": token})
        assert response.status_code == 303
        kind_now: str | None = await db.fetchval(
            "SELECT kind FROM reactions WHERE post_id = $1 AND user_id = $2", post, cast["member"]
        )
        return kind_now

    assert await react("helped") == "helped"
    page = await client.get(f"/c/{SLUG}/t/{thread}")
    assert "It helped Member" in page.text and "Helped me · 1" in page.text
    assert await react("thanks") == "thanks"  # the other kind switches
    assert await db.fetchval("SELECT count(*) FROM reactions") == 1
    page = await client.get(f"/c/{SLUG}/t/{thread}")
    assert "Thanked by Member" in page.text and "It helped" not in page.text
    assert await react("thanks") is None  # the same kind again removes it
    bad = await client.post(f"/c/{SLUG}/posts/{post}/react", data={"kind": "love", "csrf_token": token})
    assert bad.status_code == 400


async def test_you_cannot_react_to_your_own_post(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"])
    post = await db.fetchval("SELECT id FROM posts WHERE thread_id = $1", thread)
    token = await login(client, "member")
    response = await client.post(f"/c/{SLUG}/posts/{post}/react", data={"kind": "thanks", "csrf_token": token})
    assert response.status_code == 400
    assert await db.fetchval("SELECT count(*) FROM reactions") == 0


# --- Who may write ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["banned", "muted"])
async def test_banned_and_muted_members_are_refused_on_every_write_path(
    client: httpx.AsyncClient, db: asyncpg.Connection, who: str
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"], "Open thread")
    question = await create_thread(db, cast["community"], cast[who], "My question", kind="question")
    others = await create_post(db, thread, cast["leader"], "A leader's post")
    own = await create_post(db, thread, cast[who], "My old post")
    own_deleted = await create_post(db, thread, cast[who], "Deleted earlier", state="deleted")
    answer = await create_post(db, question, cast["leader"], "An answer")
    before = await table_rows(db, *FORUM_TABLES)
    token = await login(client, who)
    attempts = {
        "create": (f"/c/{SLUG}/forum/new", {"title": "New", "body": "Text"}),
        "ask": (f"/c/{SLUG}/ask", {"title": "New", "body": "Text"}),
        "introduce": (f"/c/{SLUG}/introductions/new", {"free_text": "Hello"}),
        "reply": (f"/c/{SLUG}/t/{thread}/reply", {"body": "Text"}),
        "edit": (f"/c/{SLUG}/posts/{own}/edit", {"body": "Changed"}),
        "delete": (f"/c/{SLUG}/posts/{own}/delete", {}),
        "restore": (f"/c/{SLUG}/posts/{own_deleted}/restore", {}),
        "react": (f"/c/{SLUG}/posts/{others}/react", {"kind": "helped"}),
        "accept": (f"/c/{SLUG}/t/{question}/accept", {"post_id": str(answer)}),
    }
    for name, (path, data) in attempts.items():
        response = await client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 403, name
        assert ("removed from this community" if who == "banned" else "muted") in response.text, name
    assert await table_rows(db, *FORUM_TABLES) == before


async def test_a_muted_members_refused_reply_keeps_the_draft(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    token = await login(client, "muted")
    response = await client.post(
        f"/c/{SLUG}/t/{thread}/reply", data={"body": "What I wanted to say", "csrf_token": token}
    )
    assert response.status_code == 403 and "What I wanted to say" in response.text


async def test_a_muted_member_reads_why_and_until_when_instead_of_a_reply_box(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    await login(client, "muted")
    page = await client.get(f"/c/{SLUG}/t/{thread}")
    assert page.status_code == 200
    assert 'id="reply-refused"' in page.text and "You are muted in this community" in page.text
    assert "Reason: heated" in page.text
    assert f'action="/c/{SLUG}/t/{thread}/reply"' not in page.text


async def test_visitors_and_non_members_cannot_write(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    post = await db.fetchval("SELECT id FROM posts WHERE thread_id = $1", thread)
    before = await table_rows(db, *FORUM_TABLES)
    token = (await client.get("/login")).text.split('name="csrf_token" value="')[1].split('"')[0]
    anonymous_reply = await client.post(f"/c/{SLUG}/t/{thread}/reply", data={"body": "Hi", "csrf_token": token})
    assert anonymous_reply.status_code == 401
    anonymous_react = await client.post(f"/c/{SLUG}/posts/{post}/react", data={"kind": "helped", "csrf_token": token})
    assert anonymous_react.status_code == 401
    token = await login(client, "outsider")
    reply = await client.post(f"/c/{SLUG}/t/{thread}/reply", data={"body": "Hi", "csrf_token": token})
    assert reply.status_code == 403 and "Join this community first." in reply.text
    create = await client.post(f"/c/{SLUG}/forum/new", data={"title": "T", "body": "B", "csrf_token": token})
    assert create.status_code == 403
    assert await table_rows(db, *FORUM_TABLES) == before


async def test_forms_without_the_csrf_token_are_refused(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"])
    await login(client, "member")
    response = await client.post(f"/c/{SLUG}/t/{thread}/reply", data={"body": "Sneaky"})
    assert response.status_code == 403
    assert await db.fetchval("SELECT count(*) FROM posts") == 1


async def test_an_archived_community_can_be_read_but_not_written(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["leader"], "Old times")
    await db.execute("UPDATE communities SET status = 'archived' WHERE id = $1", cast["community"])
    token = await login(client, "member")
    assert (await client.get(f"/c/{SLUG}/t/{thread}")).status_code == 200
    response = await client.post(f"/c/{SLUG}/t/{thread}/reply", data={"body": "Anyone?", "csrf_token": token})
    assert response.status_code == 409 and "Anyone?" in response.text


# --- Pin and lock ------------------------------------------------------------------------


async def test_a_leader_pins_and_locks_a_thread_and_it_is_logged(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"])
    token = await login(client, "leader")
    assert (
        await client.post(f"/c/{SLUG}/t/{thread}/pin", data={"value": "on", "csrf_token": token})
    ).status_code == 303
    assert (
        await client.post(f"/c/{SLUG}/t/{thread}/lock", data={"value": "on", "csrf_token": token})
    ).status_code == 303
    row = await db.fetchrow("SELECT pinned, locked FROM threads WHERE id = $1", thread)
    assert row["pinned"] and row["locked"]
    actions = await db.fetch("SELECT action, actor_id, target_id FROM moderation_actions ORDER BY id")
    assert [tuple(action) for action in actions] == [("pin", cast["leader"], thread), ("lock", cast["leader"], thread)]


@pytest.mark.parametrize("who", ["member", "other_leader", "outsider", None])
async def test_only_leaders_can_pin_or_lock(client: httpx.AsyncClient, db: asyncpg.Connection, who: str | None) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"])
    before = await table_rows(db, "threads", "moderation_actions")
    if who:
        token = await login(client, who)
    else:
        token = (await client.get("/login")).text.split('name="csrf_token" value="')[1].split('"')[0]
    for flag in ("pin", "lock"):
        response = await client.post(f"/c/{SLUG}/t/{thread}/{flag}", data={"value": "on", "csrf_token": token})
        assert response.status_code == (401 if who is None else 403)
    assert await table_rows(db, "threads", "moderation_actions") == before


# --- Members-only communities -------------------------------------------------------------


async def test_a_members_only_forum_shows_outsiders_only_a_count_and_hides_its_threads(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    community = await create_community(db, "private-place", "Private Place", visibility="members")
    member = await create_user(db, "insider")
    await create_user(db, "stranger")
    await add_member(db, community, member)
    thread = await create_thread(db, community, member, "Our secret worries", "Very personal")
    await create_thread(db, community, member, "Another secret")
    for who in (None, "stranger"):
        if who:
            await login(client, who)
        listing = await client.get("/c/private-place/forum")
        assert listing.status_code == 200
        assert "members only" in listing.text and "2 threads" in listing.text
        assert "Our secret worries" not in listing.text and "Another secret" not in listing.text
        assert (await client.get(f"/c/private-place/t/{thread}")).status_code == 404
        post = await db.fetchval("SELECT id FROM posts WHERE thread_id = $1", thread)
        assert (await client.get(f"/c/private-place/posts/{post}")).status_code == 404
        assert (await client.get(f"/c/private-place/posts/{post}/history")).status_code == 404
        for section in ("introductions", "questions"):
            assert "Our secret worries" not in (await client.get(f"/c/private-place/{section}")).text
    await login(client, "insider")
    assert "Our secret worries" in (await client.get("/c/private-place/forum")).text
    assert "Very personal" in (await client.get(f"/c/private-place/t/{thread}")).text


async def test_a_banned_member_cannot_read_a_members_only_forum(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await db.execute("UPDATE communities SET visibility = 'members' WHERE id = $1", cast["community"])
    thread = await create_thread(db, cast["community"], cast["member"], "Members talk")
    await login(client, "banned")
    assert (await client.get(f"/c/{SLUG}/t/{thread}")).status_code == 404
    assert "Members talk" not in (await client.get(f"/c/{SLUG}/forum")).text

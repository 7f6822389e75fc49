"""Site-wide search: safe snippets, every kind of content, accents aside, one result per thread, and no leak
of anything a reader may not read, for every role in every kind of community (issue 14, point 4)."""

from __future__ import annotations

import asyncpg
import pytest

from server.actions import search as search_actions
from server.actions.search import highlight, restore_accents
from server.db.queries import users
from server.db.queries.search import MARK_END, MARK_START
from tests.factories import add_member, create_cast, create_community, create_post, create_thread, create_user
from tests.server.actions.test_access import EXPECTED, NOBODY, ROLES


def test_highlight_escapes_everything_but_its_own_markers() -> None:
    marked = f"<script>alert(1)</script> {MARK_START}rare{MARK_END} & <mark>x</mark>"
    assert str(highlight(marked)) == (
        "&lt;script&gt;alert(1)&lt;/script&gt; <mark>rare</mark> &amp; &lt;mark&gt;x&lt;/mark&gt;"
    )


def test_the_original_letters_come_back_around_the_marks() -> None:
    original = "À l'école, Œdipe et Chloé: école again"
    marked = f"A l'{MARK_START}ecole{MARK_END}, Œdipe … Chloe: {MARK_START}ecole{MARK_END} again"
    assert restore_accents(marked, original) == (
        f"À l'{MARK_START}école{MARK_END}, Œdipe … Chloé: {MARK_START}école{MARK_END} again"
    )
    assert restore_accents("not in it", original) == "not in it"


async def _user(db: asyncpg.Connection, user_id: int) -> users.User:
    user = await users.by_id(db, user_id)
    assert user is not None
    return user


async def _room(db: asyncpg.Connection, community: int) -> int:
    return int(await db.fetchval("SELECT id FROM rooms WHERE community_id = $1 AND is_main", community))


async def _message(db: asyncpg.Connection, room: int, author: int, body: str, state: str = "visible") -> None:
    seq = await db.fetchval("UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq", room)
    await db.execute(
        "INSERT INTO room_messages (room_id, seq, author_id, client_msg_id, body, state) VALUES ($1, $2, $3, $4, $5, $6)",
        room,
        seq,
        author,
        f"c{seq}",
        body,
        state,
    )


async def _every_kind(db: asyncpg.Connection, community: int, author: int, word: str) -> None:
    """One piece of each kind containing `word`, plus hidden and removed ones that must never be found."""
    await create_thread(db, community, author, "Our week", f"Discussion: {word} in a thread.")
    await create_thread(
        db, community, author, "My first connection", f"Introduction: {word} here.", kind="introduction"
    )
    await db.execute(
        "INSERT INTO condition_sections (community_id, section, body_md) VALUES ($1, 'treatments', $2)",
        community,
        f"Section: {word} on the condition page.",
    )
    await db.execute(
        "INSERT INTO tips (community_id, author_id, name, description) VALUES ($1, $2, 'A tip', $3)",
        community,
        author,
        f"Tip: {word} helps.",
    )
    await db.execute(
        "INSERT INTO tips (community_id, author_id, name, description, hidden) VALUES ($1, $2, 'Hidden', $3, true)",
        community,
        author,
        f"Hiddentip: {word}.",
    )
    await db.execute(
        "INSERT INTO resources (community_id, kind, title, description, url) VALUES ($1, 'other', 'A link', $2, 'https://example.org/')",
        community,
        f"Resource: {word} explained.",
    )
    await db.execute(
        """INSERT INTO resources (community_id, kind, title, description, url, removed_at)
           VALUES ($1, 'other', 'Gone', $2, 'https://example.org/gone', now())""",
        community,
        f"Removedresource: {word}.",
    )
    room = await _room(db, community)
    await _message(db, room, author, f"Chat: {word} in the live room.")
    await _message(db, room, author, f"Heldchat: {word}.", state="held")
    await _message(db, room, author, f"Deletedchat: {word}.", state="deleted")


def _expected_kinds(rules: dict[str, frozenset[str]], status: str) -> dict[str, frozenset[str]]:
    """Who may find each piece, from the access specification (test_access.EXPECTED). Search leaves
    proposed communities out altogether, even for site admins (their page is reached from the admin list)."""
    public_page = rules["see_community"] if status != "proposed" else NOBODY
    return {
        "Discussion": rules["read_forum"],
        "Introduction": rules["read_introductions"],
        "Section": public_page,
        "Tip": rules["read_forum"],
        "Resource": public_page,
        "Chat": rules["read_room"],
        "Hiddentip": NOBODY,
        "Removedresource": NOBODY,
        "Heldchat": NOBODY,
        "Deletedchat": NOBODY,
    }


@pytest.mark.parametrize(("status", "visibility", "opened"), sorted(EXPECTED))
async def test_search_never_shows_anything_a_reader_may_not_read_in_results_or_snippets(
    db: asyncpg.Connection, status: str, visibility: str, opened: bool
) -> None:
    ids = await create_cast(db)
    await _every_kind(db, ids["community"], ids["leader"], "zebrafish")
    await db.execute(
        "UPDATE communities SET status = $2, visibility = $3, introductions_open = $4, rooms_open = $4 WHERE id = $1",
        ids["community"],
        status,
        visibility,
        opened,
    )
    expected = _expected_kinds(EXPECTED[(status, visibility, opened)], status)
    for role in ROLES:
        user = None if role == "anonymous" else await _user(db, ids[role])
        for kind in (None, *search_actions.KINDS):
            found = await search_actions.do_search(db, user, "zebrafish", kind=kind or "")
            text = " ".join(f"{r.heading} {r.snippet} {r.hit.body}" for r in found.results)
            for piece, allowed in expected.items():
                if kind is None or piece in _PIECES_OF[kind]:
                    assert (f"{piece}:" in text) == (role in allowed), (role, kind, piece, text)


_PIECES_OF = {
    "thread": {"Discussion", "Introduction"},
    "section": {"Section"},
    "tip": {"Tip", "Hiddentip"},
    "resource": {"Resource", "Removedresource"},
    "message": {"Chat", "Heldchat", "Deletedchat"},
}


async def test_every_kind_is_found_grouped_in_order_with_highlights(db: asyncpg.Connection) -> None:
    ids = await create_cast(db)
    await db.execute(
        "UPDATE communities SET rooms_open = true, introductions_open = true WHERE id = $1", ids["community"]
    )
    await _every_kind(db, ids["community"], ids["leader"], "ephedrine")
    found = await search_actions.do_search(db, None, "ephedrine")
    assert [group.kind for group in found.groups] == ["section", "thread", "tip", "resource", "message"]
    assert [group.label for group in found.groups] == [
        "Condition pages",
        "Forum threads",
        "Tips",
        "Resources",
        "Live rooms",
    ]
    assert all("<mark>ephedrine</mark>" in str(result.snippet) for result in found.results)
    urls = {result.hit.kind: result.url for result in found.results}
    assert urls["section"] == "/c/test-condition#section-treatments"
    assert urls["message"] == "/c/test-condition/live/main"
    assert urls["tip"].startswith("/c/test-condition/tips#tip-")
    assert urls["resource"].startswith("/c/test-condition/resources#resource-")


async def test_a_thread_with_many_matching_posts_is_one_result_at_its_best_post(db: asyncpg.Connection) -> None:
    ids = await create_cast(db)
    thread = await create_thread(db, ids["community"], ids["member"], "Salbutamol", "Salbutamol at night.")
    best = await create_post(db, thread, ids["leader"], "Salbutamol, salbutamol, salbutamol: the dose matters.")
    await create_post(db, thread, ids["member"], "We tried salbutamol too.")
    found = await search_actions.do_search(db, None, "salbutamol", kind="thread")
    assert len(found.results) == 1
    assert found.results[0].hit.post_id == best and found.results[0].url.endswith(f"#post-{best}")


async def test_search_ignores_accents_both_ways_and_highlights_the_word_as_written(db: asyncpg.Connection) -> None:
    ids = await create_cast(db)
    await create_thread(db, ids["community"], ids["member"], "École et fatigue", "À l'école, la fatigue l'après-midi.")
    await create_thread(db, ids["community"], ids["member"], "Ephedrine", "We started ephedrine last week.")
    for query in ("ecole", "ÉCOLE", "école"):
        found = await search_actions.do_search(db, None, query)
        assert [r.hit.title for r in found.results] == ["École et fatigue"], query
        assert "<mark>école</mark>" in str(found.results[0].snippet)
        assert "<mark>École</mark>" in str(found.results[0].heading)
    found = await search_actions.do_search(db, None, "éphédrine")
    assert [r.hit.title for r in found.results] == ["Ephedrine"]


async def test_the_demo_condition_page_is_found_by_a_treatment_it_discusses(db: asyncpg.Connection) -> None:
    from server.demo import load_demo_data

    await load_demo_data(db)
    found = await search_actions.do_search(db, None, "ephedrine")
    [section] = [result for result in found.results if result.hit.kind == "section"]
    assert section.url == "/c/congenital-myasthenic-syndromes#section-treatments"
    assert str(section.heading) == "Treatments · Congenital Myasthenic Syndromes"


async def test_one_kind_pages_through_its_results_and_an_unknown_kind_is_refused(db: asyncpg.Connection) -> None:
    from server.errors import InvalidInput

    community = await create_community(db, "busy", "Busy")
    author = await create_user(db, "writer")
    await add_member(db, community, author)
    for number in range(23):
        await create_thread(db, community, author, f"Fatigue {number}", "Fatigue again.")
    first = await search_actions.do_search(db, None, "fatigue")
    assert len(first.results) == search_actions.GROUP_SIZE and first.groups[0].has_more
    page_one = await search_actions.do_search(db, None, "fatigue", kind="thread")
    page_two = await search_actions.do_search(db, None, "fatigue", kind="thread", page=2)
    assert (len(page_one.results), page_one.has_more, len(page_two.results), page_two.has_more) == (20, True, 3, False)
    with pytest.raises(InvalidInput, match="condition pages, threads"):
        await search_actions.do_search(db, None, "fatigue", kind="everything")

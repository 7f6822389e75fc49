"""Search over HTTP: ranked full-text results with safe highlighted snippets, respecting visibility and state."""

from __future__ import annotations

import re

import asyncpg
import httpx

from tests.factories import add_member, create_cast, create_community, create_post, create_thread, create_user, login
from tests.test_templates import page_problems


def _result_titles(html: str) -> list[str]:
    titles = re.findall(r'<p class="thread-title"><a href="[^"]+">(.*?)</a></p>', html)
    return [re.sub(r"</?mark>", "", title) for title in titles]


async def test_search_finds_posts_ranked_with_highlighted_snippets(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    once = await create_thread(db, cast["community"], cast["member"], "Feeding", "We saw a dietitian about feeding.")
    await create_post(db, once, cast["leader"], "Salbutamol helped a little with stamina.")
    await create_thread(
        db,
        cast["community"],
        cast["leader"],
        "Salbutamol and ephedrine",
        "Which salbutamol dose worked for salbutamol users?",
    )
    await create_thread(db, cast["community"], cast["member"], "Unrelated", "Nothing to see.")
    page = await client.get("/search", params={"q": "salbutamol"})
    assert page.status_code == 200 and page_problems(page.text) == []
    titles = _result_titles(page.text)
    # A match in the title outranks a match in a reply's body.
    assert titles == ["Salbutamol and ephedrine", "Feeding"]
    assert "<mark>Salbutamol</mark> helped a little" in page.text
    assert "Unrelated" not in page.text


async def test_search_matches_thread_titles(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    await create_thread(db, cast["community"], cast["member"], "Wheelchair ramps at school", "How did you ask?")
    page = await client.get("/search", params={"q": "wheelchair"})
    assert _result_titles(page.text) == ["Wheelchair ramps at school"]
    assert "<mark>Wheelchair</mark>" in page.text


async def test_snippets_escape_member_html_and_only_our_marks_become_tags(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    hostile = "<script>alert('x')</script> pyridostigmine <b>bold</b> <mark>fake</mark> \ue000forged\ue001"
    await create_thread(db, cast["community"], cast["member"], "<img src=x onerror=alert(1)> pyridostigmine", hostile)
    page = await client.get("/search", params={"q": "pyridostigmine"})
    results = page.text.split('class="search-results"')[1].split("</ol>")[0]
    assert "<script>" not in results and "<b>" not in results and "<img" not in results
    # The title is highlighted whole, so its tag-like text comes through, escaped; the snippet's
    # fragments leave tags out altogether (either way no member markup reaches the page).
    assert "&lt;img src=x onerror=alert(1)&gt;" in results
    assert "<mark>forged</mark>" not in results  # our own markers cannot be forged from member text
    marks = re.findall(r"<mark>(.*?)</mark>", results)
    assert marks and all(mark.lower() == "pyridostigmine" for mark in marks)
    api = (await client.get("/api/v1/search", params={"q": "pyridostigmine"})).json()
    snippet = api["results"][0]["snippet_html"]
    assert "<script>" not in snippet and "<mark>pyridostigmine</mark>" in snippet


async def test_search_within_one_community_and_across_all(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    await create_thread(db, cast["community"], cast["member"], "Here", "Physiotherapy twice a week.")
    await create_thread(db, cast["other_community"], cast["other_leader"], "There", "Physiotherapy in water.")
    everywhere = _result_titles((await client.get("/search", params={"q": "physiotherapy"})).text)
    assert sorted(everywhere) == ["Here", "There"]
    here = await client.get("/search", params={"q": "physiotherapy", "community": "test-condition"})
    assert _result_titles(here.text) == ["Here"] and "Only in Test Condition" in here.text
    assert (await client.get("/search", params={"q": "x", "community": "no-such-place"})).status_code == 404


async def test_search_never_shows_members_only_content_to_non_members(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    private = await create_community(db, "private-place", "Private Place", visibility="members")
    insider = await create_user(db, "insider")
    await create_user(db, "stranger")
    await add_member(db, private, insider)
    await create_thread(db, private, insider, "Confidential worries", "Gastrostomy questions.")
    for who in (None, "stranger"):
        if who:
            await login(client, who)
        for params in ({"q": "gastrostomy"}, {"q": "gastrostomy", "community": "private-place"}, {"q": "confidential"}):
            page = await client.get("/search", params=params)
            assert "Confidential worries" not in page.text and "Gastrostomy" not in page.text.split("<h2")[-1]
            assert (await client.get("/api/v1/search", params=params)).json()["results"] == []
    await login(client, "insider")
    assert _result_titles((await client.get("/search", params={"q": "gastrostomy"})).text) == ["Confidential worries"]


async def test_search_only_finds_visible_posts_in_visible_threads(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    thread = await create_thread(db, cast["community"], cast["member"], "Open thread", "Nothing special.")
    await create_post(db, thread, cast["member"], "Deleted tracheostomy story", state="deleted")
    await create_post(db, thread, cast["member"], "Hidden tracheostomy story", state="hidden")
    await create_post(db, thread, cast["member"], "Held tracheostomy story", state="held")
    await create_thread(
        db, cast["community"], cast["member"], "Hidden thread", "Tracheostomy in a hidden thread", state="hidden"
    )
    page = await client.get("/search", params={"q": "tracheostomy"})
    assert "Nothing found" in page.text and _result_titles(page.text) == []


async def test_an_overlong_query_comes_back_with_the_reason_and_the_words(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    query = "word " * 60
    page = await client.get("/search", params={"q": query})
    assert page.status_code == 400 and "fewer words" in page.text
    assert query.strip() in page.text
    empty = await client.get("/search")
    assert empty.status_code == 200 and "Results" not in empty.text and page_problems(empty.text) == []


async def test_the_search_page_groups_kinds_and_pages_through_one(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await db.execute(
        "INSERT INTO condition_sections (community_id, section, body_md) VALUES ($1, 'treatments', 'Ephedrine helps some.')",
        cast["community"],
    )
    for number in range(6):
        await create_thread(db, cast["community"], cast["member"], f"Ephedrine {number}", "Ephedrine doses.")
    page = await client.get("/search", params={"q": "éphédrine"})
    assert page.status_code == 200 and page_problems(page.text) == []
    assert page.text.index(">Condition pages</h3>") < page.text.index(">Forum threads</h3>")
    assert 'href="/c/test-condition#section-treatments"' in page.text and "Treatments · Test Condition" in page.text
    assert "More results in Forum threads" in page.text and "&amp;kind=thread" in page.text
    threads = await client.get("/search", params={"q": "ephedrine", "kind": "thread"})
    assert len(_result_titles(threads.text)) == 6 and ">Condition pages</h3>" not in threads.text
    assert "Show every kind of result" in threads.text
    bad = await client.get("/search", params={"q": "ephedrine", "kind": "nope"})
    assert bad.status_code == 400 and "condition pages, threads" in bad.text


async def test_the_search_api_answers_kinds_groups_and_a_clear_error(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    cast = await create_cast(db)
    await db.execute(
        "INSERT INTO tips (community_id, author_id, name, description) VALUES ($1, $2, 'Straws', 'Thick straws for école lunches.')",
        cast["community"],
        cast["member"],
    )
    await create_thread(db, cast["community"], cast["member"], "Lunch at school", "The école canteen.")
    body = (await client.get("/api/v1/search", params={"q": "ecole"})).json()
    assert [group["kind"] for group in body["groups"]] == ["thread", "tip"]
    assert [result["kind"] for result in body["results"]] == ["thread", "tip"]
    tip = body["results"][1]
    assert tip["post_id"] is None and "<mark>école</mark>" in tip["snippet_html"]
    bad = await client.get("/api/v1/search", params={"q": "ecole", "kind": "nope"})
    assert bad.status_code == 400 and "condition pages, threads" in bad.json()["message"]

"""A thread page updates itself: a reply posted on another process appears without a reload, a draft is kept."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, expect

from server import auth
from tests.browser.conftest import signed_in_context
from tests.factories import add_member, create_session, create_thread, create_user, csrf_from
from tests.harness import WebProcess

pytestmark = pytest.mark.browser


async def test_a_reply_appears_on_an_open_thread_page_without_reload_and_the_draft_stays(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    first, second = site
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = 'congenital-myasthenic-syndromes'")
    reader_id = await create_user(demo_db, "nadia", display_name="Nadia")
    writer_id = await create_user(demo_db, "tomas", display_name="Tomás")
    for user_id in (reader_id, writer_id):
        await add_member(demo_db, community, user_id)
    thread_id = await create_thread(
        demo_db, community, reader_id, "School and tiredness", "How do you manage afternoons?"
    )

    context = await signed_in_context(browser, second, await create_session(demo_db, reader_id))
    page = await context.new_page()
    await page.goto(f"{second.base_url}/c/congenital-myasthenic-syndromes/t/{thread_id}")
    await page.get_by_label("Your reply").fill("A draft I am still writing")
    marker = await page.evaluate("() => (window.__kept = Math.random())")

    async with httpx.AsyncClient(
        base_url=first.base_url, cookies={auth.SESSION_COOKIE: await create_session(demo_db, writer_id)}
    ) as http:
        thread_page = await http.get(f"/c/congenital-myasthenic-syndromes/t/{thread_id}")
        sent = await http.post(
            f"/c/congenital-myasthenic-syndromes/t/{thread_id}/reply",
            data={"body": "We plan a rest **after lunch**.", "csrf_token": csrf_from(thread_page.text)},
        )
        assert sent.status_code == 303
    await expect(page.locator("#thread-posts")).to_contain_text("We plan a rest after lunch.", timeout=3000)
    assert await page.locator("#thread-posts strong", has_text="after lunch").count() == 1
    assert await page.evaluate("() => window.__kept") == marker  # the same page: no reload happened
    assert await page.get_by_label("Your reply").input_value() == "A draft I am still writing"

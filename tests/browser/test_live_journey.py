"""Journey "caregivers chatting live": two members on two processes, one drops offline and comes back."""

from __future__ import annotations

import asyncpg
import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.axe import serious_violations
from tests.browser.conftest import screenshot_path, signed_in_context
from tests.factories import add_member, create_session, create_user
from tests.harness import WebProcess

pytestmark = pytest.mark.browser
ROOM_PATH = "/c/congenital-myasthenic-syndromes/live"


async def _member(db: asyncpg.Connection, username: str, display_name: str) -> str:
    community = await db.fetchval("SELECT id FROM communities WHERE slug = 'congenital-myasthenic-syndromes'")
    user_id = await create_user(db, username, display_name=display_name)
    await add_member(db, community, user_id)
    return await create_session(db, user_id)


async def _say(page: Page, text: str) -> None:
    await page.get_by_label("Your message").fill(text)
    await page.get_by_role("button", name="Send").click()


async def _bodies(page: Page) -> list[str]:
    return await page.locator("#messages li[data-seq] .message-body").all_inner_texts()


async def test_two_caregivers_chat_and_messages_sent_offline_arrive_once_in_order(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str
) -> None:
    first, second = site
    nadia = await signed_in_context(
        browser, first, await _member(demo_db, "nadia", "Nadia"), viewport={"width": 375, "height": 812}
    )
    tomas = await signed_in_context(browser, second, await _member(demo_db, "tomas", "Tomás"))
    nadia_page = await nadia.new_page()
    tomas_page = await tomas.new_page()
    await nadia_page.goto(first.base_url + ROOM_PATH)
    await tomas_page.goto(second.base_url + ROOM_PATH)
    for page in (nadia_page, tomas_page):
        await expect(page.locator("#live-status")).to_have_text("Connected")

    await _say(nadia_page, "Good evening from Lyon. Anyone awake?")
    await expect(tomas_page.locator("#messages")).to_contain_text("Good evening from Lyon. Anyone awake?")
    await _say(tomas_page, "Yes, here in Porto. Rough night?")
    await expect(nadia_page.locator("#messages")).to_contain_text("Yes, here in Porto. Rough night?")

    # Nadia's phone loses its connection; she keeps typing.
    await nadia.set_offline(True)
    await expect(nadia_page.locator("#live-status")).to_contain_text("Offline")
    await _say(nadia_page, "Her breathing is slow tonight.")
    await _say(nadia_page, "We are watching her closely.")
    pending = nadia_page.locator("#messages li.pending")
    await expect(pending).to_have_count(2)
    await expect(pending.first).to_contain_text("sending")

    await nadia.set_offline(False)
    await expect(nadia_page.locator("#live-status")).to_have_text("Connected", timeout=15000)
    await expect(nadia_page.locator("#messages li.pending")).to_have_count(0, timeout=10000)
    await expect(tomas_page.locator("#messages")).to_contain_text("We are watching her closely.")

    expected = [
        "Good evening from Lyon. Anyone awake?",
        "Yes, here in Porto. Rough night?",
        "Her breathing is slow tonight.",
        "We are watching her closely.",
    ]
    assert await _bodies(nadia_page) == expected
    assert await _bodies(tomas_page) == expected
    seqs = await tomas_page.locator("#messages li[data-seq]").evaluate_all("items => items.map(i => +i.dataset.seq)")
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert await demo_db.fetchval("SELECT count(*) FROM room_messages") == 4

    # Both see who is here, across the two processes.
    for page in (nadia_page, tomas_page):
        await expect(page.locator("#presence")).to_contain_text("Nadia")
        await expect(page.locator("#presence")).to_contain_text("Tomás")

    # New messages are announced to screen readers through a polite live region.
    assert await nadia_page.locator("#messages").get_attribute("aria-live") == "polite"
    assert await serious_violations(tomas_page, axe_source) == []
    await nadia_page.screenshot(path=str(screenshot_path("live-room-375")), full_page=True)
    await tomas_page.screenshot(path=str(screenshot_path("live-room-1280")), full_page=True)

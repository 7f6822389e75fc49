"""The offline outbox on a shared tablet: a message written offline is only ever sent under its own author."""

from __future__ import annotations

import asyncpg
import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from server.demo import CMS_SLUG
from tests.browser.axe import serious_violations
from tests.browser.conftest import signed_in_context, watch
from tests.factories import DEFAULT_PASSWORD, add_member, create_session, create_user
from tests.harness import WebProcess

pytestmark = pytest.mark.browser

ROOM_PATH = f"/c/{CMS_SLUG}/live"
PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
OFFLINE_TEXT = "Written offline by Nadia: her breathing is slow tonight."


async def _member(db: asyncpg.Connection, username: str, display_name: str) -> int:
    community = await db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    user_id = await create_user(db, username, display_name=display_name)
    await add_member(db, community, user_id)
    return user_id


async def _say(page: Page, text: str) -> None:
    await page.get_by_label("Your message").fill(text)
    await page.get_by_role("button", name="Send", exact=True).click()


async def _messages_by_author(db: asyncpg.Connection) -> list[tuple[str, str]]:
    rows = await db.fetch(
        "SELECT u.username, m.body FROM room_messages m JOIN users u ON u.id = m.author_id ORDER BY m.seq"
    )
    return [(row["username"], row["body"]) for row in rows]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
async def test_a_message_written_offline_is_not_sent_by_the_next_account_on_the_tablet(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str, viewport: ViewportSize
) -> None:
    web = site[0]
    await _member(demo_db, "nadia", "Nadia")
    await _member(demo_db, "tomas", "Tomás")
    context = await browser.new_context(viewport=viewport)
    watched = watch(context)
    page = await context.new_page()

    async def log_in(username: str) -> None:
        await page.goto(web.base_url + "/login")
        await page.get_by_label("Username").fill(username)
        await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        await page.locator("main").get_by_role("button", name="Log in").click()
        await expect(page.locator("form[action='/logout']")).to_be_attached()

    # Nadia writes while the tablet is offline, then closes the tab: the message waits in the outbox.
    await log_in("nadia")
    await page.goto(web.base_url + ROOM_PATH)
    await expect(page.locator("#live-status")).to_have_text("Connected")
    await context.set_offline(True)
    await expect(page.locator("#live-status")).to_contain_text("Offline")
    await _say(page, OFFLINE_TEXT)
    await expect(page.locator("#messages li.pending")).to_have_count(1)
    await page.close()

    # Back online, Nadia logs out and Tomás signs in on the same tablet and opens the room.
    await context.set_offline(False)
    page = await context.new_page()
    await page.goto(web.base_url + "/")
    if await page.get_by_role("button", name="Menu").is_visible():
        await page.get_by_role("button", name="Menu").click()  # a phone's header keeps its links in the menu
    await page.get_by_role("button", name="Log out").click()
    await log_in("tomas")
    await page.goto(web.base_url + ROOM_PATH)
    await expect(page.locator("#live-status")).to_have_text("Connected")
    await expect(page.locator("#messages")).not_to_contain_text(OFFLINE_TEXT)
    # Frames on one connection are handled in order: an outbox flushed on joining would be stored
    # before this message is acknowledged.
    await _say(page, "Tomás here, good evening.")
    await expect(page.locator("#messages li.pending")).to_have_count(0)
    assert await _messages_by_author(demo_db) == [("tomas", "Tomás here, good evening.")]
    assert (
        await page.evaluate(
            "Object.keys(localStorage).filter(key => key.startsWith('kindred-outbox:') && localStorage[key] !== '{}')"
        )
        == []
    ), "Nadia's unsent text is still stored on the tablet"
    assert await serious_violations(page, axe_source) == []
    assert watched.errors == []
    await context.close()


async def test_an_open_room_tab_does_not_send_its_outbox_once_another_account_signed_in(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    web = site[1]
    nadia = await create_session(demo_db, await _member(demo_db, "nadia", "Nadia"))
    tomas = await create_session(demo_db, await _member(demo_db, "tomas", "Tomás"))
    context = await signed_in_context(browser, web, nadia, viewport=PHONE)
    page = await context.new_page()
    await page.goto(web.base_url + ROOM_PATH)
    await expect(page.locator("#live-status")).to_have_text("Connected")
    await context.set_offline(True)
    await expect(page.locator("#live-status")).to_contain_text("Offline")
    await _say(page, OFFLINE_TEXT)
    await expect(page.locator("#messages li.pending")).to_have_count(1)

    # Meanwhile, in another tab of the same browser, Tomás signed in: the cookie jar is now his.
    await context.clear_cookies()
    await context.add_cookies(
        [{"name": "kindred_session", "value": tomas, "url": web.base_url, "httpOnly": True, "sameSite": "Lax"}]
    )
    await context.set_offline(False)
    # The tab reconnects with Tomás's cookie: the server says whose socket it is and Nadia's text stays unsent.
    await expect(page.locator("#live-status")).to_contain_text("another account", timeout=15000)
    await page.reload()
    await expect(page.locator("#live-status")).to_have_text("Connected")
    await _say(page, "Tomás here, good evening.")
    await expect(page.locator("#messages li.pending")).to_have_count(0)
    assert await _messages_by_author(demo_db) == [("tomas", "Tomás here, good evening.")]
    await context.close()

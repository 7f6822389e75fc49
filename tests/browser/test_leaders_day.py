"""Journey "a leader's day": the review badge rises live for a newcomer's held message and drops once approved;
a flagged chat message is removed from its own menu with a reason its author reads; a one-room mute."""

from __future__ import annotations

import asyncpg
import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from server.demo import CMS_SLUG
from tests.browser.axe import serious_violations
from tests.browser.conftest import Watched, horizontal_overflow, screenshot_path, signed_in_context, watch
from tests.factories import add_member, create_session, create_user
from tests.harness import WebProcess

pytestmark = pytest.mark.browser
PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
ROOM = f"/c/{CMS_SLUG}/live/main"


async def _signed_in(
    browser: Browser, web: WebProcess, db: asyncpg.Connection, username: str, viewport: ViewportSize
) -> tuple[BrowserContext, Watched, Page]:
    user_id = int(await db.fetchval("SELECT id FROM users WHERE username = $1", username))
    context = await signed_in_context(browser, web, await create_session(db, user_id), viewport=viewport)
    watched = watch(context)
    return context, watched, await context.new_page()


async def _open_room(page: Page, url: str) -> None:
    await page.goto(url)
    await expect(page.locator("#live-status")).to_have_text("Connected")


async def _say(page: Page, text: str) -> None:
    await page.get_by_label("Your message").fill(text)
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#messages li[data-seq]:not(.pending)", has_text=text)).to_have_count(1)


async def _accessible(page: Page, axe_source: str, name: str) -> None:
    """axe finds nothing serious at 1280 and at 375 px, and nothing scrolls sideways on the phone."""
    viewport = page.viewport_size
    for size, label in ((DESKTOP, "1280"), (PHONE, "375")):
        await page.set_viewport_size(size)
        assert await serious_violations(page, axe_source) == [], (name, label)
        await page.screenshot(path=str(screenshot_path(f"{name}-{label}")))
    assert await horizontal_overflow(page) <= 0
    if viewport is not None:
        await page.set_viewport_size(viewport)


async def test_a_leaders_day(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str
) -> None:
    first, second = site
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    await add_member(demo_db, community, await create_user(demo_db, "noor", display_name="Noor"), approved_posts=0)
    await add_member(demo_db, community, await create_user(demo_db, "tomas", display_name="Tomás"))
    await demo_db.execute("INSERT INTO rooms (community_id, slug, name) VALUES ($1, 'parents', 'Parents')", community)
    amara, amara_watched, amara_page = await _signed_in(browser, second, demo_db, "amara", DESKTOP)
    noor, noor_watched, noor_page = await _signed_in(browser, first, demo_db, "noor", PHONE)
    lucia, lucia_watched, lucia_page = await _signed_in(browser, first, demo_db, "lucia", PHONE)
    tomas, tomas_watched, tomas_page = await _signed_in(browser, first, demo_db, "tomas", PHONE)

    # Morning: the leader has her community page open; no badge on the review queue yet.
    await amara_page.goto(second.base_url + f"/c/{CMS_SLUG}")
    queue_link = amara_page.locator(".leader-nav .review-link")
    await expect(queue_link).to_have_text("Review queue")
    await _accessible(amara_page, axe_source, "leaders-day-community")

    # A newcomer's first chat message is held; the leader's badge rises live, on another process.
    first_words = "Hello, I am Noor. My son was diagnosed with CMS last month."
    await _open_room(noor_page, first.base_url + ROOM)
    await _say(noor_page, first_words)
    await expect(noor_page.locator("#messages li[data-seq]", has_text=first_words)).to_contain_text(
        "waiting for review"
    )
    await expect(queue_link.locator(".review-count")).to_contain_text("1")

    # She approves it from the review page, in a second tab; the first tab's badge drops live.
    review_page = await amara.new_page()
    await review_page.goto(second.base_url + f"/c/{CMS_SLUG}/review")
    held = review_page.locator("#held-messages-heading + ol .review-item", has_text="Written by Noor")
    await expect(held).to_contain_text(first_words)
    await held.get_by_role("button", name="Approve").click()
    await expect(review_page.locator(".review-item", has_text=first_words)).to_have_count(0)
    await expect(queue_link.locator(".review-count")).to_have_count(0)

    # A member flags a chat message; the badge rises again.
    spam = "A man online sells a cure for CMS, message me for his number!"
    await _open_room(tomas_page, first.base_url + ROOM)
    await _say(tomas_page, spam)
    await _open_room(lucia_page, first.base_url + ROOM)
    await lucia_page.locator("#messages li", has_text=spam).get_by_role("link", name="Flag").click()
    await lucia_page.get_by_label("Spam or advertising").check()
    await lucia_page.get_by_role("button", name="Send the flag").click()
    await expect(queue_link.locator(".review-count")).to_contain_text("1")

    # The leader removes it from the message's own menu, with a reason.
    await _open_room(amara_page, second.base_url + ROOM)
    await amara_page.locator("#messages li", has_text=spam).get_by_role("link", name="Moderate").click()
    await expect(amara_page.locator("h1")).to_have_text("Moderate a message")
    await _accessible(amara_page, axe_source, "leaders-day-moderate-message")
    await amara_page.get_by_label("Reason (the author sees it)").fill("Selling unproven treatments")
    await amara_page.get_by_role("button", name="Remove the message").click()
    await expect(amara_page.locator("#live-status")).to_have_text("Connected")
    await expect(amara_page.locator("#messages li.removed", has_text=spam)).to_contain_text(
        "Selling unproven treatments"
    )
    await expect(lucia_page.locator("#messages li", has_text=spam)).to_have_count(0)
    await amara_page.goto(second.base_url + f"/c/{CMS_SLUG}")
    await expect(amara_page.locator(".leader-nav .review-link .review-count")).to_have_count(0)

    # The author is told privately, with the reason.
    await tomas_page.goto(first.base_url + "/notifications")
    await expect(tomas_page.locator("main")).to_contain_text(
        "A leader hid your message in Main room. Reason: Selling unproven treatments"
    )

    # Tomás gets heated; the leader mutes him in this room only, for an hour, from another message's menu.
    heated = "You are all wrong about this!"
    await _open_room(tomas_page, first.base_url + ROOM)
    await _say(tomas_page, heated)
    await _open_room(amara_page, second.base_url + ROOM)
    await amara_page.locator("#messages li", has_text=heated).get_by_role("link", name="Moderate").click()
    await amara_page.get_by_label("In this room only (Main room)").check()
    await amara_page.get_by_label("Mute for").select_option("1h")
    await amara_page.get_by_label("Reason (the member sees it)").fill("Please take a breath and come back later.")
    await amara_page.get_by_role("button", name="Mute", exact=True).click()
    await expect(amara_page.locator("#live-status")).to_have_text("Connected")

    # He sees the muted banner in that room, with the reason, and a disabled composer...
    await tomas_page.reload()
    banner = tomas_page.locator("#composer-muted")
    await expect(banner).to_contain_text("You are muted in this room until")
    await expect(banner).to_contain_text("Please take a breath and come back later.")
    await expect(tomas_page.get_by_label("Your message")).to_be_disabled()
    await _accessible(tomas_page, axe_source, "leaders-day-muted-in-room")
    # ...and can still chat in another room.
    await _open_room(tomas_page, first.base_url + f"/c/{CMS_SLUG}/live/parents")
    await _say(tomas_page, "Sorry, I will calm down here.")
    await tomas_page.goto(first.base_url + "/notifications")
    await expect(tomas_page.locator("main")).to_contain_text("A leader muted you in Main room until")
    await _accessible(tomas_page, axe_source, "leaders-day-notifications")

    actions = await demo_db.fetch("SELECT action FROM moderation_actions ORDER BY id")
    assert [row["action"] for row in actions] == ["approve_message", "remove_message", "mute"]
    for watched in (amara_watched, noor_watched, lucia_watched, tomas_watched):
        assert watched.errors == [] and watched.dialogs == []
    for context in (amara, noor, lucia, tomas):
        await context.close()

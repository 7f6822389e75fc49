"""Journey "leader moderating": live removal, the first-post review queue, and a mute the member can read."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import asyncpg
import pytest
from babel.dates import format_datetime
from playwright.async_api import Browser, BrowserContext, Page, expect

from server.demo import CMS_SLUG
from tests.browser.conftest import Watched, screenshot_path, signed_in_context, watch
from tests.factories import add_member, create_session, create_user
from tests.harness import WebProcess

pytestmark = pytest.mark.browser
ROOM_PATH = f"/c/{CMS_SLUG}/live"


async def _user_id(db: asyncpg.Connection, username: str) -> int:
    return int(await db.fetchval("SELECT id FROM users WHERE username = $1", username))


async def _signed_in(
    browser: Browser, web: WebProcess, db: asyncpg.Connection, username: str
) -> tuple[BrowserContext, Watched, Page]:
    context = await signed_in_context(browser, web, await create_session(db, await _user_id(db, username)))
    watched = watch(context)
    return context, watched, await context.new_page()


async def _open_room(page: Page, web: WebProcess) -> None:
    await page.goto(web.base_url + ROOM_PATH)
    await expect(page.locator("#live-status")).to_have_text("Connected")


async def _say(page: Page, text: str) -> None:
    await page.get_by_label("Your message").fill(text)
    await page.get_by_role("button", name="Send").click()


async def test_a_leader_removes_a_message_and_it_disappears_from_every_members_open_room(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    first, second = site
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    await add_member(demo_db, community, await create_user(demo_db, "tomas", display_name="Tomás"))
    lucia, lucia_watched, lucia_page = await _signed_in(browser, first, demo_db, "lucia")
    tomas, tomas_watched, tomas_page = await _signed_in(browser, second, demo_db, "tomas")
    amara, amara_watched, amara_page = await _signed_in(browser, second, demo_db, "amara")
    amara_watched.prompt_answer = "Selling unproven treatments"
    for page, web in [(lucia_page, first), (tomas_page, second), (amara_page, second)]:
        await _open_room(page, web)

    await _say(lucia_page, "Good morning, everyone.")
    await _say(lucia_page, "A man online sells a cure for CMS, message me for his number!")
    spam = "A man online sells a cure for CMS, message me for his number!"
    for page in (lucia_page, tomas_page, amara_page):
        await expect(page.locator("#messages li[data-seq]", has_text=spam)).to_have_count(1)

    # Only the leader has Remove buttons; she gives her reason in the prompt.
    await expect(tomas_page.get_by_role("button", name="Remove")).to_have_count(0)
    await expect(lucia_page.get_by_role("button", name="Remove")).to_have_count(0)
    await amara_page.locator("#messages li", has_text=spam).get_by_role("button", name="Remove").click()

    # Gone from both members' open pages, on both processes, without a reload; the rest stays.
    for page in (lucia_page, tomas_page):
        await expect(page.locator("#messages li", has_text=spam)).to_have_count(0)
        await expect(page.locator("#messages li", has_text="Good morning, everyone.")).to_have_count(1)
    # The leader still sees it, marked as removed, without its Remove button.
    removed = amara_page.locator("#messages li.removed", has_text=spam)
    await expect(removed).to_contain_text("removed by a leader")
    await expect(removed.get_by_role("button", name="Remove")).to_have_count(0)
    assert amara_watched.dialogs == ["prompt: Remove"]

    row = await demo_db.fetchrow("SELECT state, state_reason FROM room_messages WHERE body = $1", spam)
    assert (row["state"], row["state_reason"]) == ("hidden", "Selling unproven treatments")
    audit = await demo_db.fetchrow("SELECT action, reason FROM moderation_actions ORDER BY id DESC LIMIT 1")
    assert (audit["action"], audit["reason"]) == ("remove_message", "Selling unproven treatments")

    # It does not come back with a reload either; the leader's reload shows the reason.
    await tomas_page.reload()
    await expect(tomas_page.locator("#messages")).to_contain_text("Good morning, everyone.")
    await expect(tomas_page.locator("#messages li", has_text=spam)).to_have_count(0)
    await amara_page.reload()
    await expect(amara_page.locator("#messages li.removed", has_text=spam)).to_contain_text(
        "Selling unproven treatments"
    )

    assert lucia_watched.errors == [] and tomas_watched.errors == [] and amara_watched.errors == []
    assert lucia_watched.dialogs == [] and tomas_watched.dialogs == []
    for context in (lucia, tomas, amara):
        await context.close()


async def test_a_muted_member_is_told_why_and_until_when_in_the_live_room_and_the_forum(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    first, second = site
    await demo_db.execute("UPDATE users SET time_zone = 'America/Bogota' WHERE username = 'lucia'")
    lucia, lucia_watched, lucia_page = await _signed_in(browser, first, demo_db, "lucia")
    amara, amara_watched, amara_page = await _signed_in(browser, second, demo_db, "amara")
    # Lucía has the room open before the mute: the server refuses, whatever the page believes.
    await _open_room(lucia_page, first)

    # The leader mutes her for an hour from the members page, with a reason Lucía will read.
    await amara_page.goto(second.base_url + f"/c/{CMS_SLUG}/members")
    row = amara_page.locator(".member-row", has_text="Lucía")
    await row.get_by_text("Mute or ban Lucía").click()
    await row.get_by_label("Mute for").select_option("1h")
    await row.get_by_label("Reason (the member sees it)").fill("Please take a short break after the argument.")
    await row.get_by_role("button", name="Mute", exact=True).click()
    await expect(amara_page.locator("#sanctions-heading")).to_have_text("Mutes and bans in force")
    await expect(amara_page.locator("main")).to_contain_text("Please take a short break after the argument.")
    ends_at = await demo_db.fetchval(
        "SELECT ends_at FROM sanctions WHERE kind = 'mute' AND user_id = $1", await _user_id(demo_db, "lucia")
    )
    shown_end = format_datetime(ends_at, format="medium", tzinfo=ZoneInfo("America/Bogota"), locale="en")
    expected = (
        f"You are muted in this community until {shown_end}. Reason: Please take a short break after the argument."
    )

    # In the live room: the reason and the end time, in her time zone, and her words are not lost.
    words = "I still think the doctor was wrong."
    await _say(lucia_page, words)
    await expect(lucia_page.locator("#composer-error")).to_have_text(expected)
    await expect(lucia_page.get_by_label("Your message")).to_have_value(words)
    await expect(lucia_page.locator("#messages li", has_text=words)).to_have_count(0)
    await lucia_page.screenshot(path=str(screenshot_path("muted-member-375")))

    # In the forum: the same message next to her reply, which comes back in the box.
    thread_id = await demo_db.fetchval("SELECT id FROM threads WHERE kind = 'introduction'")
    await lucia_page.goto(first.base_url + f"/c/{CMS_SLUG}/t/{thread_id}")
    await lucia_page.get_by_label("Your reply").fill(words)
    await lucia_page.get_by_role("button", name="Send reply").click()
    await expect(lucia_page.locator("#f-body-error")).to_have_text(expected)
    await expect(lucia_page.get_by_label("Your reply")).to_have_value(words)
    assert await demo_db.fetchval("SELECT count(*) FROM room_messages WHERE body = $1", words) == 0
    assert await demo_db.fetchval("SELECT count(*) FROM posts WHERE body_md = $1", words) == 0

    # The leader lifts the mute; Lucía can talk again in the room.
    await amara_page.get_by_role("button", name="Lift the mute").click()
    await expect(amara_page.locator("#sanctions-heading")).to_have_count(0)
    await _open_room(lucia_page, first)
    await _say(lucia_page, "Sorry about earlier.")
    await expect(
        lucia_page.locator("#messages li[data-seq]:not(.pending)", has_text="Sorry about earlier.")
    ).to_have_count(1)

    # The refused reply is answered with status 403, which Chromium logs; nothing else went wrong.
    refused = "console: Failed to load resource: the server responded with a status of 403 (Forbidden)"
    assert [error for error in lucia_watched.errors if error != refused] == []
    assert amara_watched.errors == []
    for context in (lucia, amara):
        await context.close()

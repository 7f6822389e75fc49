"""The live room tells members what will happen before they send: slow mode's countdown, and a muted
member's banner (why, until when) over a disabled composer instead of one that would fail."""

from __future__ import annotations

import asyncpg
import pytest
from playwright.async_api import Browser, ViewportSize, expect

from server.demo import CMS_SLUG
from tests.browser.axe import serious_violations
from tests.browser.conftest import screenshot_path, signed_in_context, watch
from tests.factories import add_member, create_session, create_user
from tests.harness import WebProcess

pytestmark = pytest.mark.browser

ROOM_PATH = f"/c/{CMS_SLUG}/live"
PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
WIDTHS = pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])


async def _member(db: asyncpg.Connection, username: str) -> tuple[int, str]:
    community = await db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    user_id = await create_user(db, username, display_name=username.title())
    await add_member(db, community, user_id)
    return user_id, await create_session(db, user_id)


@WIDTHS
async def test_slow_mode_counts_down_before_sending_and_keeps_the_words_in_the_box(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str, viewport: ViewportSize
) -> None:
    web = site[0]
    await demo_db.execute(
        "UPDATE rooms SET slow_mode_seconds = 300 WHERE community_id = (SELECT id FROM communities WHERE slug = $1)",
        CMS_SLUG,
    )
    nadia_id, nadia = await _member(demo_db, "nadia")
    context = await signed_in_context(browser, web, nadia, viewport=viewport)
    watched = watch(context)
    page = await context.new_page()
    await page.goto(web.base_url + ROOM_PATH)
    await expect(page.locator("#live-status")).to_have_text("Connected")
    note = page.locator("#slow-mode-note")
    await expect(note).to_have_text("Slow mode: one message every 300 s.")

    box = page.get_by_label("Your message")
    await box.fill("Is anyone awake?")
    await box.press("Enter")
    await expect(page.locator("#messages li[data-seq]", has_text="Is anyone awake?")).to_have_count(1)
    await expect(note).to_contain_text("Slow mode: you can send again in")
    # A second message before the wait is over is not sent (it would be refused): the words stay.
    await box.fill("Hello?")
    await box.press("Enter")
    await expect(page.locator("#composer-error")).to_contain_text("you can send again in")
    await expect(box).to_have_value("Hello?")
    await expect(page.locator("#messages li.pending")).to_have_count(0)
    assert await serious_violations(page, axe_source) == []
    await page.screenshot(path=str(screenshot_path(f"slow-mode-{viewport['width']}")))
    # The wait comes from the server: a reload still counts down.
    await page.reload()
    await expect(page.locator("#live-status")).to_have_text("Connected")
    await expect(note).to_contain_text("Slow mode: you can send again in")
    assert await demo_db.fetchval("SELECT count(*) FROM room_messages WHERE author_id = $1", nadia_id) == 1
    assert watched.errors == []
    await context.close()


@WIDTHS
async def test_a_muted_member_sees_why_and_until_when_over_a_disabled_composer(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str, viewport: ViewportSize
) -> None:
    web = site[1]
    nadia_id, nadia = await _member(demo_db, "nadia")
    await demo_db.execute(
        """INSERT INTO sanctions (community_id, user_id, kind, reason, ends_at)
           VALUES ((SELECT id FROM communities WHERE slug = $1), $2, 'mute', $3, now() + interval '2 hours')""",
        CMS_SLUG,
        nadia_id,
        "Please take a short break after the argument.",
    )
    context = await signed_in_context(browser, web, nadia, viewport=viewport)
    watched = watch(context)
    page = await context.new_page()
    await page.goto(web.base_url + ROOM_PATH)
    await expect(page.locator("#live-status")).to_have_text("Connected")
    banner = page.locator("#composer-muted")
    await expect(banner).to_contain_text("You are muted in this community until")
    await expect(banner).to_contain_text("Reason: Please take a short break after the argument.")
    await expect(banner).to_be_in_viewport()
    # The composer stays, disabled, for when the mute ends (the page enables it then: test_live_mute_journey).
    await expect(page.get_by_label("Your message")).to_be_disabled()
    await expect(page.get_by_role("button", name="Send")).to_be_disabled()
    await expect(page.locator("main")).not_to_contain_text("Join this community")
    assert await serious_violations(page, axe_source) == []
    await page.screenshot(path=str(screenshot_path(f"muted-banner-{viewport['width']}")))
    assert watched.errors == []
    await context.close()


@WIDTHS
async def test_a_held_first_message_says_roughly_how_long_the_leaders_usually_take(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str, viewport: ViewportSize
) -> None:
    web = site[0]
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    leader = await demo_db.fetchval("SELECT id FROM users WHERE username = 'amara'")
    intro = await demo_db.fetchval("SELECT id FROM threads WHERE kind = 'introduction'")
    # The leaders' last decision came three hours after the post was written.
    earlier = await create_user(demo_db, "karim")
    await add_member(demo_db, community, earlier, approved_posts=0)
    post = await demo_db.fetchval(
        """INSERT INTO posts (thread_id, author_id, body_md, created_at)
           VALUES ($1, $2, 'Hello from Karim.', now() - interval '3 hours') RETURNING id""",
        intro,
        earlier,
    )
    await demo_db.execute(
        """INSERT INTO moderation_actions (community_id, actor_id, action, target_user_id, target_kind, target_id)
           VALUES ($1, $2, 'approve_post', $3, 'post', $4)""",
        community,
        leader,
        earlier,
        post,
    )
    newcomer = await create_user(demo_db, "noor", display_name="Noor")
    await add_member(demo_db, community, newcomer, approved_posts=0)
    context = await signed_in_context(browser, web, await create_session(demo_db, newcomer), viewport=viewport)
    watched = watch(context)
    page = await context.new_page()
    await page.goto(web.base_url + ROOM_PATH)
    await expect(page.locator("#live-status")).to_have_text("Connected")
    box = page.get_by_label("Your message")
    await box.fill("Hello, we are new here.")
    await box.press("Enter")
    mine = page.locator("#messages li[data-seq]", has_text="Hello, we are new here.")
    await expect(mine).to_contain_text(
        "waiting for review · Leaders usually review first messages within about 3 hours."
    )
    await page.reload()
    await expect(mine).to_contain_text(
        "waiting for review · Leaders usually review first messages within about 3 hours."
    )
    assert await serious_violations(page, axe_source) == []
    assert watched.errors == []
    await context.close()

"""A member with the live room open is muted by a leader on another process: the composer is disabled at once
under the reason and the end, and comes back when the leader lifts the mute or when the mute's end passes."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from server import auth
from server.demo import CMS_SLUG
from tests.browser.axe import serious_violations
from tests.browser.conftest import screenshot_path, signed_in_context, watch
from tests.factories import add_member, create_conversation, create_session, create_user, csrf_from
from tests.harness import WebProcess

pytestmark = pytest.mark.browser

ROOM_PATH = f"/c/{CMS_SLUG}/live"
PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
# A leader's reason is shown as written, "$&" and "$$" included (not read as String.replace patterns).
SPAM = "Spam: $& offers, $$ promised."
WIDTHS = pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])


async def _leader_posts(web: WebProcess, session: str, path: str, data: dict[str, str]) -> None:
    """The leader's form, posted on that process (as from the message's Moderate page or the members page)."""
    async with httpx.AsyncClient(base_url=web.base_url, cookies={auth.SESSION_COOKIE: session}) as http:
        token = csrf_from((await http.get("/")).text)
        response = await http.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 303, response.text


async def _say(page: Page, body: str) -> int:
    box = page.get_by_label("Your message")
    await box.fill(body)
    await box.press("Enter")
    sent = page.locator("#messages li[data-seq]:not(.pending)", has_text=body)
    await expect(sent).to_have_count(1)
    return int(await sent.get_attribute("data-seq") or "0")


@WIDTHS
async def test_a_mute_disables_the_open_rooms_composer_with_why_and_until_when_and_lifting_it_gives_it_back(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str, viewport: ViewportSize
) -> None:
    first, second = site
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    nadia_id = await create_user(demo_db, "nadia", display_name="Nadia")
    await add_member(demo_db, community, nadia_id)
    leader = await create_session(demo_db, await demo_db.fetchval("SELECT id FROM users WHERE username = 'amara'"))
    context = await signed_in_context(browser, second, await create_session(demo_db, nadia_id), viewport=viewport)
    watched = watch(context)
    page = await context.new_page()
    # The page's clock, so that the mute's end can be reached without waiting for it.
    await page.clock.install()
    await page.goto(second.base_url + ROOM_PATH)
    await expect(page.locator("#live-status")).to_have_text("Connected")
    seq = await _say(page, "You are all wrong about this!")
    box, send = page.get_by_label("Your message"), page.get_by_role("button", name="Send")
    banner = page.locator("#composer-muted")
    await expect(banner).to_be_hidden()

    # The leader mutes her in this room, from the message's menu, on the other process.
    await _leader_posts(
        first,
        leader,
        f"{ROOM_PATH}/main/messages/{seq}/mute",
        {"scope": "room", "duration": "1h", "mute_reason": "Please take a breath."},
    )
    await expect(box).to_be_disabled()
    await expect(send).to_be_disabled()
    await expect(banner).to_be_visible()
    await expect(banner).to_have_attribute("role", "status")
    await expect(banner).to_contain_text("You are muted in this room until")
    await expect(banner).to_contain_text("Reason: Please take a breath.")
    assert await serious_violations(page, axe_source) == []
    await page.screenshot(path=str(screenshot_path(f"live-muted-{viewport['width']}")))

    # The leader lifts it: the composer is back, and her words go through.
    await _leader_posts(first, leader, f"/c/{CMS_SLUG}/members/nadia/unmute", {})
    await expect(box).to_be_enabled()
    await expect(banner).to_be_hidden()
    await _say(page, "Sorry, I will calm down.")

    # Muted in the whole community for 15 minutes: once the page's clock passes the end, the composer is back.
    await _leader_posts(
        first, leader, f"/c/{CMS_SLUG}/members/nadia/mute", {"duration": "15m", "reason": "A short pause."}
    )
    await expect(banner).to_contain_text("You are muted in this community until")
    await expect(box).to_be_disabled()
    await page.clock.fast_forward("16:00")
    await expect(box).to_be_enabled()
    await expect(banner).to_be_hidden()
    assert await serious_violations(page, axe_source) == []
    assert watched.errors == []
    await context.close()


async def test_a_community_mute_disables_an_open_private_conversation_too_and_lifting_it_gives_it_back(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str
) -> None:
    """access.can_send_in_conversation: a mute in the whole community holds in its conversations (a room's does not)."""
    first, second = site
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    nadia_id = await create_user(demo_db, "nadia", display_name="Nadia")
    await add_member(demo_db, community, nadia_id)
    lucia_id = await demo_db.fetchval("SELECT id FROM users WHERE username = 'lucia'")
    conversation = await create_conversation(demo_db, community, nadia_id, lucia_id)
    leader = await create_session(demo_db, await demo_db.fetchval("SELECT id FROM users WHERE username = 'amara'"))
    context = await signed_in_context(browser, second, await create_session(demo_db, nadia_id), viewport=PHONE)
    watched = watch(context)
    page = await context.new_page()
    await page.goto(f"{second.base_url}/conversations/{conversation}")
    await expect(page.locator("#live-status")).to_have_text("Connected")
    box, banner = page.get_by_label("Your message"), page.locator("#composer-muted")
    await expect(box).to_be_enabled()

    await _leader_posts(
        first, leader, f"/c/{CMS_SLUG}/members/nadia/mute", {"duration": "24h", "reason": "Spam links."}
    )
    await expect(box).to_be_disabled()
    await expect(page.get_by_role("button", name="Send")).to_be_disabled()
    await expect(banner).to_contain_text("You are muted in this community until")
    await expect(banner).to_contain_text("Reason: Spam links.")
    assert await serious_violations(page, axe_source) == []
    await page.screenshot(path=str(screenshot_path("conversation-muted-375")))

    await _leader_posts(first, leader, f"/c/{CMS_SLUG}/members/nadia/unmute", {})
    await expect(box).to_be_enabled()
    await expect(banner).to_be_hidden()

    # Muted again while the phone was offline: the conversation's next join says so.
    status = page.locator("#live-status")
    await context.set_offline(True)
    await expect(status).not_to_have_text("Connected")
    await _leader_posts(
        first, leader, f"/c/{CMS_SLUG}/members/nadia/mute", {"duration": "1h", "reason": "Again: $& and $$."}
    )
    await context.set_offline(False)
    await expect(status).to_have_text("Connected")
    await expect(box).to_be_disabled()
    await expect(banner).to_contain_text("Reason: Again: $& and $$.")
    assert watched.errors == []
    await context.close()


async def test_a_page_offline_when_the_mute_came_and_went_learns_each_on_reconnecting(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str
) -> None:
    """The muted and unmuted frames were missed: the answer to the page's next join says the mute in force."""
    first, second = site
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    nadia_id = await create_user(demo_db, "nadia", display_name="Nadia")
    await add_member(demo_db, community, nadia_id)
    leader = await create_session(demo_db, await demo_db.fetchval("SELECT id FROM users WHERE username = 'amara'"))
    context = await signed_in_context(browser, second, await create_session(demo_db, nadia_id), viewport=PHONE)
    watched = watch(context)
    page = await context.new_page()
    await page.goto(second.base_url + ROOM_PATH)
    status, box, banner = (
        page.locator("#live-status"),
        page.get_by_label("Your message"),
        page.locator("#composer-muted"),
    )
    await expect(status).to_have_text("Connected")
    await expect(box).to_be_enabled()

    await context.set_offline(True)  # the train goes into a tunnel
    await expect(status).to_contain_text("Offline")
    await _leader_posts(first, leader, f"/c/{CMS_SLUG}/members/nadia/mute", {"duration": "24h", "reason": SPAM})
    await context.set_offline(False)
    await expect(status).to_have_text("Connected")
    await expect(box).to_be_disabled()
    await expect(banner).to_contain_text("You are muted in this community until")
    await expect(banner).to_contain_text(f"Reason: {SPAM}")
    assert await serious_violations(page, axe_source) == []

    await context.set_offline(True)
    await expect(status).to_contain_text("Offline")
    await _leader_posts(first, leader, f"/c/{CMS_SLUG}/members/nadia/unmute", {})
    await context.set_offline(False)
    await expect(status).to_have_text("Connected")
    await expect(box).to_be_enabled()
    await expect(banner).to_be_hidden()
    await _say(page, "Back, and sorry.")
    assert watched.errors == []
    await context.close()


async def test_a_conversation_send_refused_as_muted_gives_its_words_back_to_the_box(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    """A mute this page never heard of (stored straight away, as one committed while Redis was away): the send is
    refused with the server's reason, and the words come back to the box instead of being dropped."""
    first = site[0]
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    nadia_id = await create_user(demo_db, "nadia", display_name="Nadia")
    await add_member(demo_db, community, nadia_id)
    lucia_id = await demo_db.fetchval("SELECT id FROM users WHERE username = 'lucia'")
    conversation = await create_conversation(demo_db, community, nadia_id, lucia_id)
    context = await signed_in_context(browser, first, await create_session(demo_db, nadia_id), viewport=PHONE)
    watched = watch(context)
    page = await context.new_page()
    await page.goto(f"{first.base_url}/conversations/{conversation}")
    await expect(page.locator("#live-status")).to_have_text("Connected")
    await demo_db.execute(
        "INSERT INTO sanctions (community_id, user_id, kind, reason, ends_at) VALUES ($1, $2, 'mute', 'Quiet.', NULL)",
        community,
        nadia_id,
    )
    box = page.get_by_label("Your message")
    await box.fill("Are you still there?")
    await box.press("Enter")
    await expect(page.locator("#composer-error")).to_contain_text("You are muted in this community")
    await expect(box).to_have_value("Are you still there?")
    await expect(page.locator("#messages li", has_text="Are you still there?")).to_have_count(0)
    assert watched.errors == []
    await context.close()

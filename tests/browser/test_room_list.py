"""A community's room list in Chromium: a message from another member raises a room's unread count live, and
opening the room (in another tab, on another process) clears it; at phone and desktop widths, axe-clean."""

from __future__ import annotations

import asyncpg
import pytest
from playwright.async_api import Browser, ViewportSize, expect

from server.demo import CMS_SLUG
from tests.browser.axe import serious_violations
from tests.browser.conftest import screenshot_path, signed_in_context, watch
from tests.factories import add_member, create_session, create_user
from tests.harness import WebProcess
from tests.live_client import LiveClient

pytestmark = pytest.mark.browser

PARENTS = f"{CMS_SLUG}/parents"
PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


async def _person(db: asyncpg.Connection, community: int, username: str, display_name: str) -> str:
    user_id = await create_user(db, username, display_name=display_name)
    await add_member(db, community, user_id)
    return await create_session(db, user_id)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
async def test_a_message_from_another_member_raises_the_count_live_and_opening_the_room_clears_it(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str, viewport: ViewportSize
) -> None:
    first, second = site
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    await demo_db.execute(
        "INSERT INTO rooms (community_id, slug, name) VALUES ($1, 'parents', 'Parents') ON CONFLICT DO NOTHING",
        community,
    )
    nadia = await _person(demo_db, community, "nadia", "Nadia Benali")
    tomas = await _person(demo_db, community, "tomas", "Tomás")
    context = await signed_in_context(browser, first, nadia, viewport=viewport)
    watched = watch(context)
    page = await context.new_page()
    await page.goto(first.base_url + "/")
    await page.evaluate("localStorage.setItem('kindred-cookie-notice', 'dismissed')")
    await page.goto(first.base_url + f"/c/{CMS_SLUG}/rooms")
    await expect(page.get_by_role("heading", name="Live rooms")).to_be_visible()
    parents = page.locator(f'[data-room-list] li[data-room="{PARENTS}"]')
    await expect(parents.get_by_role("link", name="Parents")).to_be_visible()
    await expect(parents.locator(".unread-count")).to_be_hidden()
    await expect(page.locator("[data-room-list][data-live='1']")).to_have_count(1)

    # Tomás writes twice in Parents, through the other process: the count rises as each arrives.
    writer = await LiveClient.connect(second.ws_url, second.base_url, tomas)
    try:
        await writer.join(PARENTS)
        assert (await writer.say(PARENTS, "Anyone else up at night with a tube feed?"))["type"] == "ack"
        await expect(parents.locator(".unread-count")).to_have_text("1 unread message")
        assert (await writer.say(PARENTS, "We use a quiet pump now."))["type"] == "ack"
        await expect(parents.locator(".unread-count")).to_have_text("2 unread messages")
    finally:
        await writer.close()
    assert await serious_violations(page, axe_source) == []
    await page.screenshot(path=screenshot_path(f"room-list-{viewport['width']}"), full_page=True)

    # Nadia opens the room in another tab (the other process): the list in the first tab clears.
    room_tab = await context.new_page()
    await room_tab.goto(second.base_url + f"/c/{CMS_SLUG}/live/parents")
    await expect(room_tab.locator("#live-status")).to_have_text("Connected")
    await expect(room_tab.locator("#messages li", has_text="We use a quiet pump now.")).to_be_visible()
    await expect(parents.locator(".unread-count")).to_be_hidden()
    await expect(parents).to_have_attribute("data-unread", "0")
    # The room page's own list marks the room being read, without a count.
    current = room_tab.locator(f'[data-room-list] li[data-room="{PARENTS}"]')
    await expect(current.locator("[aria-current='page']")).to_have_text("Parents")
    assert await serious_violations(room_tab, axe_source) == []
    # And the community page agrees once reloaded.
    await page.goto(first.base_url + f"/c/{CMS_SLUG}")
    await expect(page.locator(f'[data-room-list] li[data-room="{PARENTS}"]')).to_have_attribute("data-unread", "0")
    assert await serious_violations(page, axe_source) == []
    assert watched.errors == []
    await context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
async def test_the_room_page_opens_one_websocket_for_the_room_and_its_room_list(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str, viewport: ViewportSize
) -> None:
    first, second = site
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    for slug, name in (("parents", "Parents"), ("siblings", "Siblings")):
        await demo_db.execute(
            "INSERT INTO rooms (community_id, slug, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            community,
            slug,
            name,
        )
    nadia = await _person(demo_db, community, "nadia", "Nadia Benali")
    tomas = await _person(demo_db, community, "tomas", "Tomás")
    context = await signed_in_context(browser, first, nadia, viewport=viewport)
    watched = watch(context)
    page = await context.new_page()
    await page.goto(first.base_url + "/")
    await page.evaluate("localStorage.setItem('kindred-cookie-notice', 'dismissed')")
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    await page.goto(first.base_url + f"/c/{CMS_SLUG}/live/parents")
    await expect(page.locator("#live-status")).to_have_text("Connected")
    await expect(page.locator("[data-room-list][data-live='1']")).to_have_count(1)

    # The room list on the room page still counts live, over the room's own socket.
    siblings = page.locator(f'[data-room-list] li[data-room="{CMS_SLUG}/siblings"]')
    writer = await LiveClient.connect(second.ws_url, second.base_url, tomas)
    try:
        await writer.join(f"{CMS_SLUG}/siblings")
        assert (await writer.say(f"{CMS_SLUG}/siblings", "Our eldest asks about it a lot."))["type"] == "ack"
        await expect(siblings.locator(".unread-count")).to_have_text("1 unread message")
        await writer.join(PARENTS)
        assert (await writer.say(PARENTS, "Welcome, Nadia."))["type"] == "ack"
        await expect(page.locator("#messages li", has_text="Welcome, Nadia.")).to_be_visible()
    finally:
        await writer.close()
    assert sockets == [first.ws_url]
    assert await serious_violations(page, axe_source) == []
    assert watched.errors == []
    await context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
async def test_a_message_a_leader_removes_leaves_the_count_whether_it_came_live_or_with_the_page(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str, viewport: ViewportSize
) -> None:
    first, second = site
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    await demo_db.execute(
        "INSERT INTO rooms (community_id, slug, name) VALUES ($1, 'parents', 'Parents') ON CONFLICT DO NOTHING",
        community,
    )
    nadia = await _person(demo_db, community, "nadia", "Nadia Benali")
    tomas = await _person(demo_db, community, "tomas", "Tomás")
    keeper = await create_user(demo_db, "keeper", display_name="Room keeper")
    await add_member(demo_db, community, keeper, "leader")
    writer = await LiveClient.connect(second.ws_url, second.base_url, tomas)
    leader = await LiveClient.connect(second.ws_url, second.base_url, await create_session(demo_db, keeper))
    try:
        await writer.join(PARENTS)
        await leader.join(PARENTS)
        before = await writer.say(PARENTS, "Our street is Rue des Lilas, number 4.")  # counted in the page
        context = await signed_in_context(browser, first, nadia, viewport=viewport)
        watched = watch(context)
        page = await context.new_page()
        await page.goto(first.base_url + "/")
        await page.evaluate("localStorage.setItem('kindred-cookie-notice', 'dismissed')")
        await page.goto(first.base_url + f"/c/{CMS_SLUG}/rooms")
        parents = page.locator(f'[data-room-list] li[data-room="{PARENTS}"]')
        await expect(parents.locator(".unread-count")).to_have_text("1 unread message")
        await expect(page.locator("[data-room-list][data-live='1']")).to_have_count(1)
        live = await writer.say(PARENTS, "Call me on 06 12 34 56 78.")  # counted live
        await expect(parents.locator(".unread-count")).to_have_text("2 unread messages")

        await leader.send({"type": "remove", "room": PARENTS, "seq": live["seq"], "reason": "A phone number"})
        await expect(parents.locator(".unread-count")).to_have_text("1 unread message")
        await leader.send({"type": "remove", "room": PARENTS, "seq": before["seq"], "reason": "An address"})
        await expect(parents.locator(".unread-count")).to_be_hidden()
        await expect(parents).to_have_attribute("data-unread", "0")
        assert await serious_violations(page, axe_source) == []
        assert watched.errors == []
        await context.close()
    finally:
        await writer.close()
        await leader.close()

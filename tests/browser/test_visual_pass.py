"""The site's look on phones and desktops: whole words on buttons, the one-line phone header and its menu,
and a dark theme that follows the system setting and passes axe."""

from __future__ import annotations

import asyncpg
import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from server.demo import CMS_SLUG
from tests.browser.axe import serious_violations
from tests.browser.conftest import screenshot_path, signed_in_context, watch
from tests.factories import create_session
from tests.harness import WebProcess
from tests.live_client import LiveClient

pytestmark = pytest.mark.browser

PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


async def _dismiss_cookie_notice(page: Page, base_url: str) -> None:
    await page.goto(base_url + "/")
    await page.evaluate("localStorage.setItem('kindred-cookie-notice', 'dismissed')")


async def _broken_words(page: Page) -> list[str]:
    """Words of visible buttons that are split over two lines (each word measured with a Range)."""
    found: list[str] = await page.evaluate(
        """() => {
      const broken = [];
      for (const button of document.querySelectorAll("button, .button")) {
        if (!button.offsetParent) continue;
        const walker = document.createTreeWalker(button, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          for (const match of node.data.matchAll(/\\S+/g)) {
            const range = document.createRange();
            range.setStart(node, match.index);
            range.setEnd(node, match.index + match[0].length);
            const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
            if (lines.size > 1) broken.push(match[0]);
          }
        }
      }
      return broken;
    }"""
    )
    return found


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
async def test_button_labels_never_break_inside_a_word_at_phone_and_desktop_widths(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, locale: str
) -> None:
    web = site[0]
    lucia = await create_session(demo_db, await demo_db.fetchval("SELECT id FROM users WHERE username = 'lucia'"))
    problems: list[str] = []
    for viewport in (PHONE, DESKTOP):
        context = await signed_in_context(browser, web, lucia, viewport=viewport, locale=locale)
        page = await context.new_page()
        await _dismiss_cookie_notice(page, web.base_url)
        for path in ["/", "/?q=myasthenic", f"/c/{CMS_SLUG}/resources", f"/c/{CMS_SLUG}/forum", "/search", "/settings"]:
            await page.goto(web.base_url + path)
            if broken := await _broken_words(page):
                problems.append(f"{locale} {viewport['width']} px {path}: {broken}")
        await context.close()
    assert problems == []


async def test_the_phone_header_is_one_line_with_a_menu_that_works_with_the_keyboard(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str
) -> None:
    web = site[0]
    amara = await create_session(demo_db, await demo_db.fetchval("SELECT id FROM users WHERE username = 'amara'"))
    context = await signed_in_context(browser, web, amara, viewport=PHONE)
    watched = watch(context)
    page = await context.new_page()
    await _dismiss_cookie_notice(page, web.base_url)
    await page.goto(web.base_url + f"/c/{CMS_SLUG}")
    header = page.get_by_role("banner")
    menu = header.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")
    await expect(menu).to_be_visible()
    await expect(nav).to_be_hidden()
    brand, button, bar = (
        await header.get_by_role("link", name="Kindred").bounding_box(),
        await menu.bounding_box(),
        await header.bounding_box(),
    )
    assert brand and button and bar
    # One line: the name and the button side by side, the bar no taller than the taller of the two (and padding).
    assert button["y"] < brand["y"] + brand["height"] and brand["y"] < button["y"] + button["height"]
    assert bar["height"] <= max(brand["height"], button["height"]) + 2 * 12 + 2
    await page.screenshot(path=str(screenshot_path("header-closed-375")))

    # Keyboard only: Tab reaches the button, Enter opens the menu, Tab goes into its links, Escape closes it.
    for _ in range(5):
        await page.keyboard.press("Tab")
        if await menu.evaluate("button => button === document.activeElement"):
            break
    await expect(menu).to_be_focused()
    await expect(menu).to_have_attribute("aria-expanded", "false")
    await page.keyboard.press("Enter")
    await expect(menu).to_have_attribute("aria-expanded", "true")
    await expect(nav.get_by_role("link", name="Notifications")).to_be_visible()
    await expect(nav.get_by_role("button", name="Log out")).to_be_visible()
    assert await serious_violations(page, axe_source) == []
    await page.screenshot(path=str(screenshot_path("header-open-375")))
    await page.keyboard.press("Tab")
    await expect(nav.get_by_role("link", name="Communities")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(nav).to_be_hidden()
    await expect(menu).to_be_focused()
    await page.keyboard.press(" ")
    await expect(nav).to_be_visible()
    await context.close()

    # On a desktop the links are simply there, on the same line, and there is no Menu button.
    context = await signed_in_context(browser, web, amara, viewport=DESKTOP)
    page = await context.new_page()
    await _dismiss_cookie_notice(page, web.base_url)
    await page.goto(web.base_url + f"/c/{CMS_SLUG}")
    await expect(page.get_by_role("banner").get_by_role("button", name="Menu")).to_be_hidden()
    await expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Notifications")).to_be_visible()
    brand, bar = (
        await page.get_by_role("link", name="Kindred").bounding_box(),
        await page.get_by_role("banner").bounding_box(),
    )
    assert brand and bar and bar["height"] <= brand["height"] + 2 * 12 + 8
    assert watched.errors == []
    await context.close()


async def _background_luminance(page: Page) -> float:
    value: float = await page.evaluate(
        """() => {
      const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number);
      return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    }"""
    )
    return value


async def test_the_dark_theme_follows_the_system_setting_and_every_main_page_passes_axe_in_it(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str
) -> None:
    web = site[1]
    amara = await create_session(demo_db, await demo_db.fetchval("SELECT id FROM users WHERE username = 'amara'"))
    intro = await demo_db.fetchval("SELECT id FROM threads WHERE kind = 'introduction'")
    # The room has a conversation to show (avatars, badges, day separator, the "new messages" line).
    lucia = await create_session(demo_db, await demo_db.fetchval("SELECT id FROM users WHERE username = 'lucia'"))
    for session, text in [(lucia, "Good evening. Is anyone up?"), (amara, "I'm here, Lucía.")]:
        client = await LiveClient.connect(web.ws_url, web.base_url, session)
        try:
            await client.join(f"{CMS_SLUG}/main")
            assert (await client.say(f"{CMS_SLUG}/main", text))["type"] == "ack"
        finally:
            await client.close()
    problems: list[str] = []
    for viewport in (PHONE, DESKTOP):
        light = await browser.new_context(viewport=viewport, color_scheme="light")
        light_page = await light.new_page()
        await light_page.goto(web.base_url + "/")
        assert await _background_luminance(light_page) > 0.8
        await light.close()

        context = await signed_in_context(browser, web, amara, viewport=viewport, color_scheme="dark")
        watched = watch(context)
        page = await context.new_page()
        # The cookie notice stays up on the first page, so it is checked in the dark too.
        for name, path in [
            ("home", "/"),
            ("community", f"/c/{CMS_SLUG}"),
            ("forum", f"/c/{CMS_SLUG}/forum"),
            ("thread", f"/c/{CMS_SLUG}/t/{intro}"),
            ("live-room", f"/c/{CMS_SLUG}/live"),
            ("resources", f"/c/{CMS_SLUG}/resources"),
            ("review-queue", f"/c/{CMS_SLUG}/review"),
            ("settings", "/settings"),
            ("notifications", "/notifications"),
        ]:
            await page.goto(web.base_url + path)
            if name == "live-room":
                await expect(page.locator("#live-status")).to_have_text("Connected")
                await expect(page.locator("#messages li.unread-divider")).to_have_count(1)
            if await _background_luminance(page) > 0.2:
                problems.append(f"{name} {viewport['width']} px: not dark")
            problems += [f"{name} {viewport['width']} px: {v}" for v in await serious_violations(page, axe_source)]
            await page.screenshot(path=str(screenshot_path(f"dark-{name}-{viewport['width']}")))
        problems += watched.errors
        await context.close()
    assert problems == []

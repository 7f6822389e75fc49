"""Every main page loads in a real browser without script errors, passes axe, and is screenshotted."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from tests.browser.axe import serious_violations
from tests.browser.conftest import screenshot_path
from tests.harness import WebProcess

pytestmark = pytest.mark.browser

PAGES = {
    "home": "/",
    "login": "/login",
    "register": "/register",
    "community": "/c/congenital-myasthenic-syndromes",
    "faq": "/faq",
}


@pytest.mark.parametrize("name", sorted(PAGES))
async def test_page_has_no_serious_accessibility_violations_at_phone_and_desktop_widths(
    browser: Browser, site: list[WebProcess], axe_source: str, name: str
) -> None:
    errors: list[str] = []
    for width, height in [(1280, 900), (375, 812)]:
        context = await browser.new_context(viewport={"width": width, "height": height})
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        response = await page.goto(site[0].base_url + PAGES[name])
        assert response is not None and response.status == 200
        assert await serious_violations(page, axe_source) == []
        # Nothing wider than the phone screen: no sideways scrolling at 375 px.
        overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
        await page.screenshot(path=str(screenshot_path(f"{name}-{width}")), full_page=True)
        assert errors == []
        await context.close()

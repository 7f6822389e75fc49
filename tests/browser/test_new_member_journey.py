"""Journey "new member": register, find the condition, read it, join, introduce yourself, get welcomed live."""

from __future__ import annotations

import re

import asyncpg
import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from server.demo import CMS_SLUG
from tests.browser.conftest import horizontal_overflow, screenshot_path, signed_in_context, watch
from tests.factories import create_session
from tests.harness import WebProcess

pytestmark = pytest.mark.browser

PHONE: ViewportSize = {"width": 375, "height": 812}


async def _fits_the_phone(page: Page, visited: dict[str, int]) -> None:
    """Remember how far each visited page scrolls sideways at 375 px (checked all at once at the end)."""
    visited[page.url] = await horizontal_overflow(page)


async def test_a_new_member_registers_finds_cms_joins_introduces_herself_and_sees_the_welcome_arrive_live(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    first, second = site
    context = await browser.new_context(viewport=PHONE)
    watched = watch(context)
    page = await context.new_page()
    overflow: dict[str, int] = {}

    # She arrives on the home page on her phone and creates an account through the real form.
    await page.goto(first.base_url + "/")
    await _fits_the_phone(page, overflow)
    await page.get_by_role("button", name="OK, got it").click()
    # On a phone the header's links are behind its Menu button.
    await page.get_by_role("button", name="Menu").click()
    await page.get_by_role("link", name="Join Kindred").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Join Kindred")
    await _fits_the_phone(page, overflow)
    await page.get_by_label("Username").fill("ines")
    await page.get_by_label("Display name").fill("Inès")
    await page.get_by_label("Password", exact=True).fill("tired but hopeful parent")
    await page.get_by_role("button", name="Create my account").click()
    await page.get_by_role("button", name="Menu").click()
    await expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Inès")).to_be_visible()
    assert await demo_db.fetchval("SELECT display_name FROM users WHERE username = 'ines'") == "Inès"

    # She searches the directory from the home page and finds the community by part of its name.
    await page.goto(first.base_url + "/")
    await page.get_by_label("Search by condition name, another name, gene, symptom or ORPHA/OMIM code").fill(
        "myasthenic"
    )
    await page.get_by_role("button", name="Search", exact=True).click()
    await expect(page).to_have_url(re.compile(r"[?&]q=myasthenic"))
    results = page.locator(".directory")
    await expect(results.get_by_role("link")).to_have_count(1)
    await _fits_the_phone(page, overflow)
    await results.get_by_role("link", name="Congenital Myasthenic Syndromes").click()

    # The condition page explains the condition, and says plainly what has not been written yet.
    await expect(page).to_have_url(first.base_url + f"/c/{CMS_SLUG}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Congenital Myasthenic Syndromes")
    await expect(page.locator("#section-what_is_it")).to_contain_text("neuromuscular junction")
    for key, title in [
        ("diagnostic_tests", "Diagnostic tests"),
        ("synonyms", "Synonyms"),
        ("references", "References"),
    ]:
        await expect(page.locator(f"#section-{key} .placeholder")).to_have_text(f"{title} has not been added yet.")
    await expect(page.locator("#section-treatments .placeholder")).to_have_count(0)
    await _fits_the_phone(page, overflow)
    await page.screenshot(path=str(screenshot_path("new-member-condition-375")))

    # She joins, and is offered the guided introduction.
    await page.get_by_role("button", name="Join this community").click()
    await expect(page.get_by_role("status")).to_contain_text("You are now a member of Congenital Myasthenic Syndromes")
    await page.get_by_role("link", name="Introduce yourself to the community").click()
    await expect(page).to_have_url(first.base_url + f"/c/{CMS_SLUG}/introductions/new")
    await _fits_the_phone(page, overflow)
    await page.get_by_label("Someone I care for").check()
    await page.get_by_label("Who do you care for?").fill("my son Teo")
    await page.get_by_label("Age when the first signs appeared").fill("at 8 months")
    await page.get_by_label("Diagnosis or gene, if known").fill("CMS, DOK7")
    await page.get_by_label("Treatments tried").fill("salbutamol")
    await page.get_by_label("What do you hope to find here?").fill("other parents who know the DOK7 road")
    await page.get_by_label("Preferred language").fill("French or English")
    await page.get_by_label("Anything else you would like to say").fill("We live near Lille. Teo loves trains.")
    await page.get_by_role("button", name="Post my introduction").click()

    # Her introduction is a thread of its own, with the default first-connection title. As a new member's
    # first post it waits for a leader's review; she is told so, and others do not see it yet.
    await expect(page).to_have_url(re.compile(rf"/c/{CMS_SLUG}/t/\d+$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "My first connection: Congenital Myasthenic Syndromes"
    )
    posts = page.locator("#thread-posts")
    await expect(posts).to_contain_text("DOK7")
    await expect(posts).to_contain_text("Teo loves trains.")
    await expect(posts.locator(".notice")).to_contain_text("Waiting for review")
    await _fits_the_phone(page, overflow)
    thread_path = page.url.removeprefix(first.base_url)
    thread_id = int(thread_path.rsplit("/", 1)[1])
    assert await demo_db.fetchval("SELECT kind FROM threads WHERE id = $1", thread_id) == "introduction"

    # Amara, a leader, finds it in the review queue on another process and approves it.
    await page.evaluate("window.stillTheSamePage = true")
    amara_id = await demo_db.fetchval("SELECT id FROM users WHERE username = 'amara'")
    leader = await signed_in_context(browser, second, await create_session(demo_db, amara_id))
    leader_watched = watch(leader)
    leader_page = await leader.new_page()
    await leader_page.goto(second.base_url + f"/c/{CMS_SLUG}/review")
    held = leader_page.locator(".review-item", has_text="Written by Inès")
    await expect(held.locator(".review-title")).to_have_text(
        "New thread: “My first connection: Congenital Myasthenic Syndromes”"
    )
    await held.get_by_role("button", name="Approve").click()
    await expect(leader_page.locator(".review-item", has_text="Written by Inès")).to_have_count(0)

    # She welcomes Inès through the reply form; Inès's open page shows the welcome without being
    # reloaded (the marker set on her window survives only without a reload).
    await leader_page.goto(second.base_url + thread_path)
    await leader_page.get_by_label("Your reply").fill("Welcome, Inès! Two of our families live with DOK7 too.")
    await leader_page.get_by_role("button", name="Send reply").click()
    await expect(leader_page.locator("#thread-posts")).to_contain_text("Two of our families live with DOK7 too.")

    welcome = posts.locator("article.post", has_text="Two of our families live with DOK7 too.")
    await expect(welcome).to_be_visible(timeout=10_000)
    await expect(welcome.locator(".post-author")).to_contain_text("Amara (leader)")
    await expect(welcome.locator(".post-author .badge")).to_have_text("Leader")
    await expect(posts.locator(".notice", has_text="Waiting for review")).to_have_count(0)
    assert await page.evaluate("window.stillTheSamePage") is True
    # The welcome lands inside the region that announces new posts to screen readers.
    assert await posts.get_attribute("aria-live") == "polite"
    await welcome.scroll_into_view_if_needed()
    await page.screenshot(path=str(screenshot_path("new-member-welcomed-375")))

    assert {url: pixels for url, pixels in overflow.items() if pixels > 0} == {}
    assert watched.errors == [] and leader_watched.errors == []
    assert watched.dialogs == [] and leader_watched.dialogs == []
    await leader.close()
    await context.close()

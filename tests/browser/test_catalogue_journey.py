"""Journey "start a community from the catalogue": the type-ahead finds conditions as a parent types, by gene or name."""

from __future__ import annotations

import asyncpg
import pytest
from playwright.async_api import Browser, expect

from server.demo import CMS_CODES
from tests.browser.conftest import signed_in_context, watch
from tests.factories import create_session, load_catalogue
from tests.harness import WebProcess

pytestmark = pytest.mark.browser


async def test_a_parent_types_a_gene_sees_its_community_then_proposes_an_uncovered_condition_with_the_keyboard(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    await load_catalogue(demo_db, set(CMS_CODES) | {"ORPHA:79414", "ORPHA:994"})
    web = site[0]
    lucia = await demo_db.fetchval("SELECT id FROM users WHERE username = 'lucia'")
    context = await signed_in_context(browser, web, await create_session(demo_db, lucia))
    watched = watch(context)
    page = await context.new_page()
    await page.goto(web.base_url + "/communities/new")
    await page.get_by_role("button", name="OK, got it").click()

    # Typing the gene from her child's report lists the conditions at once, without pressing Search;
    # the covered ones lead to the existing community instead of offering a new one.
    search = page.get_by_label("Condition, gene, symptom or code")
    await search.press_sequentially("dok7", delay=30)
    results = page.locator("#catalogue-results")
    await expect(
        results.get_by_role("link", name="Already has a community: Congenital Myasthenic Syndromes").first
    ).to_be_visible()
    await expect(results.get_by_role("link", name="Choose Fetal akinesia deformation sequence")).to_be_visible()
    await expect(page.locator("#catalogue-status")).to_have_text("3 conditions found")
    assert page.url == web.base_url + "/communities/new"  # the list came from the type-ahead, not a submit

    # A condition with no community: typed with a typo, chosen with the arrow keys and Enter.
    await search.fill("")
    await search.press_sequentially("wooly hair", delay=30)
    choose = results.get_by_role("link", name="Choose Woolly hair nevus")
    await expect(choose).to_be_visible()
    await search.press("ArrowDown")
    await expect(choose).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="2. Propose a community for this condition")).to_be_visible()
    await expect(page.get_by_text("Catalogue data").first).to_be_visible()
    await expect(page.get_by_label("Name of the condition")).to_have_value("Woolly hair nevus")
    await page.get_by_label("Short description").fill("Tightly curled hair in one patch of the scalp.")
    await page.get_by_label("Why is this community needed?").fill("Two families asked for it.")
    await page.get_by_role("button", name="Send my proposal").click()
    await expect(page.get_by_text("Waiting for a decision")).to_be_visible()
    community = await demo_db.fetchval("SELECT id FROM communities WHERE name = 'Woolly hair nevus'")
    assert await demo_db.fetchval("SELECT code FROM community_conditions WHERE community_id = $1", community) == (
        "ORPHA:79414"
    )
    assert watched.errors == [] and watched.dialogs == []
    await context.close()

"""Journey "privacy a family can trust": a leader hides the community and invites a family by link;
a visitor finds nothing; the family asks, is accepted, and reads; a members-only community seen by a
visitor, a member and its leader. At 375 px (phones) and 1280 px, with axe on each new page."""

from __future__ import annotations

import re

import asyncpg
import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from server.demo import CMS_SLUG
from tests.browser.axe import serious_violations
from tests.browser.conftest import horizontal_overflow, screenshot_path, signed_in_context, watch
from tests.factories import create_session, create_thread, create_user
from tests.harness import WebProcess

pytestmark = pytest.mark.browser
PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


async def _context(
    browser: Browser, web: WebProcess, db: asyncpg.Connection, username: str | None, size: ViewportSize
) -> BrowserContext:
    if username is None:
        return await browser.new_context(viewport=size)
    user_id = await db.fetchval("SELECT id FROM users WHERE username = $1", username)
    return await signed_in_context(browser, web, await create_session(db, user_id), viewport=size)


async def _check(page: Page, axe_source: str, name: str) -> None:
    assert await serious_violations(page, axe_source) == [], name
    assert await horizontal_overflow(page) == 0, name
    await page.screenshot(path=screenshot_path(name), full_page=True)


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["375", "1280"])
async def test_a_hidden_community_is_joined_by_invitation_only(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str, size: ViewportSize
) -> None:
    first, second = site
    await create_user(demo_db, "nadia", display_name="Nadia")
    leader = await _context(browser, first, demo_db, "amara", DESKTOP)
    leader_errors = watch(leader)
    page = await leader.new_page()
    await page.goto(f"{first.base_url}/c/{CMS_SLUG}/reading")
    await page.get_by_label("Hidden: members only, and the community is not listed anywhere").check()
    await page.get_by_role("button", name="Save who can read").click()
    await expect(page.get_by_role("status")).to_contain_text("the new rules apply now")
    await page.get_by_label("A leader approves each person who follows the link").check()
    await page.get_by_role("button", name="Make an invite link").click()
    link = await page.get_by_label("The new invite link").input_value()
    assert "/join/" in link
    await _check(page, axe_source, f"privacy-reading-{size['width']}")

    # A visitor on the other process: no directory entry, no page.
    visitor = await _context(browser, second, demo_db, None, size)
    stranger = await visitor.new_page()
    await stranger.goto(f"{second.base_url}/?q=myasthenic")
    await expect(stranger.locator("main")).not_to_contain_text("Congenital Myasthenic Syndromes")
    answer = await stranger.goto(f"{second.base_url}/c/{CMS_SLUG}")
    assert answer is not None and answer.status == 404

    # Nadia follows the link on her phone, on the other process, and asks to join.
    family = await _context(browser, second, demo_db, "nadia", size)
    family_errors = watch(family)
    nadia = await family.new_page()
    await nadia.goto(link.replace(first.base_url, second.base_url))
    await expect(nadia.get_by_role("heading", level=1)).to_contain_text("Congenital Myasthenic Syndromes")
    await _check(nadia, axe_source, f"privacy-invitation-{size['width']}")
    await nadia.get_by_label("Message to the leaders").fill("Our son has DOK7 CMS; we live in Lyon.")
    await nadia.get_by_role("button", name="Ask to join").click()
    await expect(nadia.get_by_role("status")).to_contain_text("Your request was sent")

    # The leader answers from the same page and Nadia reads the forum.
    await page.goto(f"{first.base_url}/c/{CMS_SLUG}/reading#requests")
    await expect(page.locator(".join-requests")).to_contain_text("we live in Lyon")
    await page.locator(".join-requests").get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("status")).to_contain_text("Request approved")
    await nadia.goto(f"{second.base_url}/c/{CMS_SLUG}")
    await expect(nadia.locator(".reading-rules")).to_contain_text("Hidden")
    await expect(nadia.get_by_role("button", name="Leave this community")).to_be_visible()
    assert leader_errors.errors == [] and family_errors.errors == []
    for context in (leader, visitor, family):
        await context.close()


async def test_a_members_only_community_as_a_visitor_a_member_and_its_leader_see_it(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str
) -> None:
    first, _second = site
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    lucia = await demo_db.fetchval("SELECT id FROM users WHERE username = 'lucia'")
    await create_thread(demo_db, community, lucia, "Our first month after the diagnosis")
    await demo_db.execute("UPDATE communities SET visibility = 'members' WHERE id = $1", community)

    visitor = await _context(browser, first, demo_db, None, PHONE)
    page = await visitor.new_page()
    await page.goto(f"{first.base_url}/c/{CMS_SLUG}")
    # The condition page stays open, and says plainly who reads the rest.
    await expect(page.locator(".reading-rules")).to_contain_text("Members only")
    await page.goto(f"{first.base_url}/c/{CMS_SLUG}/forum")
    await expect(page.locator("main")).not_to_contain_text("Our first month")
    await _check(page, axe_source, "privacy-members-only-visitor-375")

    member = await _context(browser, first, demo_db, "lucia", PHONE)
    reader = await member.new_page()
    await reader.goto(f"{first.base_url}/c/{CMS_SLUG}/forum")
    await expect(reader.locator("main")).to_contain_text("Our first month")

    leader = await _context(browser, first, demo_db, "amara", DESKTOP)
    lead = await leader.new_page()
    await lead.goto(f"{first.base_url}/c/{CMS_SLUG}/reading")
    await expect(
        lead.get_by_label("Members only (and the live room, introductions and member lists too)", exact=False)
    ).to_be_checked()
    for context in (visitor, member, leader):
        await context.close()


async def test_a_member_marks_a_reply_members_only_and_a_visitor_never_sees_it(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str
) -> None:
    first, second = site
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    amara = await demo_db.fetchval("SELECT id FROM users WHERE username = 'amara'")
    thread = await create_thread(demo_db, community, amara, "Schools and CMS")
    member = await _context(browser, first, demo_db, "lucia", PHONE)
    errors = watch(member)
    page = await member.new_page()
    await page.goto(f"{first.base_url}/c/{CMS_SLUG}/t/{thread}")
    await page.get_by_label("Your reply").fill("Her school in Lyon gives her a rest room.")
    await page.get_by_label("Only members of this community can read it").check()
    await page.get_by_role("button", name="Send reply").click()
    post = page.locator("article.post", has_text="rest room")
    await expect(post.locator(".badge-private")).to_have_text("Members only")
    await _check(page, axe_source, "privacy-members-only-reply-375")

    visitor = await _context(browser, second, demo_db, None, PHONE)
    outside = await visitor.new_page()
    await outside.goto(f"{second.base_url}/c/{CMS_SLUG}/t/{thread}")
    await expect(outside.get_by_role("heading", level=1)).to_have_text("Schools and CMS")
    await expect(outside.locator("main")).not_to_contain_text("rest room")
    assert errors.errors == []
    for context in (member, visitor):
        await context.close()


async def test_a_member_chooses_a_pseudonym_and_only_a_leader_can_look_behind_it(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str
) -> None:
    first, second = site
    lucia = await _context(browser, first, demo_db, "lucia", PHONE)
    errors = watch(lucia)
    page = await lucia.new_page()
    await page.goto(f"{first.base_url}/c/{CMS_SLUG}")
    await page.get_by_text("Your name in this community").click()
    await page.get_by_label("Name others see here").fill("Rose Garden")
    await page.get_by_role("button", name="Save my name here").click()
    await expect(page.get_by_role("status")).to_contain_text("how others in this community see you")
    await expect(page.locator("#your-name summary")).to_have_text("You appear here as Rose Garden")
    await _check(page, axe_source, "privacy-pseudonym-375")
    await page.goto(f"{first.base_url}/c/{CMS_SLUG}/forum/new")
    await page.get_by_label("Title").fill("Nights are hard")
    await page.get_by_label("Your message").fill("Does anyone else use a cough assist?")
    await page.get_by_role("button", name="Start the thread").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Nights are hard")

    # In the live room her messages go out under the name, and her page knows them as her own.
    await page.goto(f"{first.base_url}/c/{CMS_SLUG}/live")
    await expect(page.locator("#live-status")).to_have_text("Connected")
    await page.get_by_label("Your message").fill("Hello from the garden")
    await page.get_by_role("button", name="Send", exact=True).click()
    mine = page.locator("#messages li.message", has_text="Hello from the garden")
    await expect(mine).not_to_have_class(re.compile(r"\bpending\b"))
    await expect(page.locator("#messages")).to_contain_text("Rose Garden")
    await expect(mine.locator(".flag-message")).to_have_count(0)
    author = await mine.get_attribute("data-author")
    assert author is not None and author.startswith("-")

    # A visitor on the other process sees the pseudonym, never Lucía's name or username.
    visitor = await _context(browser, second, demo_db, None, DESKTOP)
    outside = await visitor.new_page()
    await outside.goto(f"{second.base_url}/c/{CMS_SLUG}/forum")
    await expect(outside.locator("main")).to_contain_text("Started by Rose Garden")
    await outside.get_by_role("link", name="Nights are hard").click()
    await expect(outside.locator("article.post").first).to_contain_text("Rose Garden")
    main = await outside.locator("main").inner_text()
    assert "Lucía" not in main and "lucia" not in main.lower()

    # The leader sees the pseudonym in the members list and looks behind it, once, on the record.
    leader = await _context(browser, second, demo_db, "amara", DESKTOP)
    lead = await leader.new_page()
    await lead.goto(f"{second.base_url}/c/{CMS_SLUG}/members")
    row = lead.locator(".member-row", has_text="Rose Garden")
    await expect(row).not_to_contain_text("lucia")
    await row.get_by_role("button", name="Show the account behind this name (audited)").click()
    await expect(lead.get_by_role("status")).to_contain_text("@lucia")
    await lead.goto(f"{second.base_url}/c/{CMS_SLUG}/audit")
    # The audit log reads as a sentence (issue 15), naming the pseudonym, never the account.
    await expect(lead.locator("main")).to_contain_text("looked at who is behind the pseudonym Rose Garden")
    assert "lucia" not in (await lead.locator("table.audit").inner_text()).lower()
    assert errors.errors == []
    for context in (lucia, visitor, leader):
        await context.close()

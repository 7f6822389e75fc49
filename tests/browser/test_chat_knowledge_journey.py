"""Chat to knowledge in Chromium, at phone and desktop widths: a leader turns two chat messages into a
thread; one author accepts, the other declines; the thread appears with the accepted words only, linking
back to their moment in the room. A leader also turns a message into a resource, with its kind and link,
published once its author accepts. axe: 0 serious or critical on each page of the flow."""

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

ROOM = f"{CMS_SLUG}/main"
PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


async def _session(db: asyncpg.Connection, username: str) -> str:
    return await create_session(db, await db.fetchval("SELECT id FROM users WHERE username = $1", username))


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
async def test_a_leader_turns_chat_into_a_thread_with_each_authors_consent(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str, viewport: ViewportSize
) -> None:
    first, second = site
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    tomas_id = await create_user(demo_db, "tomas", display_name="Tomás")
    await add_member(demo_db, community, tomas_id)
    said = {}
    for username, text in (
        ("lucia", "Our physio showed us a breathing game with bubbles: ten minutes a day."),
        ("tomas", "Our son's oxygen was low again last night, I am scared."),
    ):
        writer = await LiveClient.connect(first.ws_url, first.base_url, await _session(demo_db, username))
        try:
            await writer.join(ROOM)
            said[username] = (await writer.say(ROOM, text))["seq"]
        finally:
            await writer.close()

    contexts = []
    try:
        leader = await signed_in_context(browser, first, await _session(demo_db, "amara"), viewport=viewport)
        contexts.append(leader)
        watched = watch(leader)
        page = await leader.new_page()
        await page.goto(first.base_url + "/")
        await page.get_by_role("button", name="OK, got it").click()
        await page.goto(first.base_url + f"/c/{CMS_SLUG}/live")
        await page.get_by_role("link", name="Turn messages into a tip or a thread").click()
        await expect(page.get_by_role("heading", name="Turn messages into a tip or a thread")).to_be_visible()
        await page.get_by_label("A new thread in the forum").check()
        await page.get_by_label("Title").fill("Breathing games that help")
        await page.get_by_role("checkbox", name="breathing game with bubbles").check()
        await page.get_by_role("checkbox", name="oxygen was low again").check()
        assert await serious_violations(page, axe_source) == []
        await page.screenshot(path=screenshot_path(f"chat-to-knowledge-propose-{viewport['width']}"), full_page=True)
        await page.get_by_role("button", name="Ask the authors").click()
        await expect(page.get_by_role("status")).to_contain_text("Nothing is published until every quoted author")
        proposal_url = page.url
        assert await serious_violations(page, axe_source) == []

        # Each author hears of it in their notifications and answers on the other process.
        for username, answer in (("lucia", "Accept"), ("tomas", "Decline")):
            context = await signed_in_context(browser, second, await _session(demo_db, username), viewport=viewport)
            contexts.append(context)
            author_watch = watch(context)
            author = await context.new_page()
            await author.goto(second.base_url + "/")
            await author.get_by_role("button", name="OK, got it").click()
            await author.goto(second.base_url + "/notifications")
            await author.get_by_role("link", name="would like to quote your words").first.click()
            await expect(author.get_by_role("heading", name="May your words be quoted?")).to_be_visible()
            assert await serious_violations(author, axe_source) == []
            if username == "lucia":
                await author.screenshot(
                    path=screenshot_path(f"chat-to-knowledge-consent-{viewport['width']}"), full_page=True
                )
            await author.get_by_role("button", name=answer, exact=True).click()
            await expect(author.get_by_role("heading", name="May your words be quoted?")).to_have_count(0)
            assert author_watch.errors == []

        await page.goto(proposal_url)
        await expect(page.get_by_role("status")).to_contain_text("it is published")
        await page.get_by_role("link", name="Read it").click()
        post = page.locator("article.post").first
        await expect(post).to_contain_text("breathing game with bubbles")
        await expect(post).not_to_contain_text("oxygen was low")
        await post.get_by_role("link", name="in the live room").click()
        await expect(page.locator(f"#message-{said['lucia']}")).to_be_visible()
        assert watched.errors == []
    finally:
        for context in contexts:
            await context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
async def test_a_leader_turns_a_chat_message_into_a_resource_once_its_author_accepts(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str, viewport: ViewportSize
) -> None:
    first, second = site
    writer = await LiveClient.connect(first.ws_url, first.base_url, await _session(demo_db, "lucia"))
    try:
        await writer.join(ROOM)
        seq = (await writer.say(ROOM, "The CMS patient registry emails a newsletter when a trial opens."))["seq"]
    finally:
        await writer.close()

    contexts = []
    try:
        leader = await signed_in_context(browser, first, await _session(demo_db, "amara"), viewport=viewport)
        contexts.append(leader)
        watched = watch(leader)
        page = await leader.new_page()
        await page.goto(first.base_url + "/")
        await page.get_by_role("button", name="OK, got it").click()
        await page.goto(first.base_url + f"/c/{CMS_SLUG}/live/main/propose")
        await page.get_by_role("radio", name="A resource").check()
        await page.get_by_label("Kind (for a resource)").select_option(label="Patient registry")
        await page.get_by_label("Link (for a resource)").fill("https://registry.example/cms")
        await page.get_by_label("Title").fill("The CMS patient registry")
        await page.get_by_role("checkbox", name="emails a newsletter").check()
        assert await serious_violations(page, axe_source) == []
        await page.screenshot(path=screenshot_path(f"chat-to-resource-propose-{viewport['width']}"), full_page=True)
        await page.get_by_role("button", name="Ask the authors").click()
        await expect(page.get_by_text("Proposed as a resource")).to_be_visible()
        await expect(page.get_by_role("status")).to_contain_text("Nothing is published until every quoted author")
        proposal_url = page.url

        author_context = await signed_in_context(browser, second, await _session(demo_db, "lucia"), viewport=viewport)
        contexts.append(author_context)
        author_watch = watch(author_context)
        author = await author_context.new_page()
        await author.goto(second.base_url + "/")
        await author.get_by_role("button", name="OK, got it").click()
        await author.goto(second.base_url + "/notifications")
        await author.get_by_role("link", name="in a resource, “The CMS patient registry”").first.click()
        await expect(author.get_by_role("heading", name="May your words be quoted?")).to_be_visible()
        assert await serious_violations(author, axe_source) == []
        await author.get_by_role("button", name="Accept", exact=True).click()
        await expect(author.get_by_role("heading", name="May your words be quoted?")).to_have_count(0)
        assert author_watch.errors == []

        await page.goto(proposal_url)
        await expect(page.get_by_role("status")).to_contain_text("it is published")
        await page.get_by_role("link", name="Read it").click()
        resource = await demo_db.fetchval("SELECT resource_id FROM chat_proposals WHERE kind = 'resource'")
        card = page.locator(f"#resource-{resource}")
        await expect(card.get_by_role("link", name="The CMS patient registry", exact=True)).to_have_attribute(
            "href", "https://registry.example/cms"
        )
        await expect(card).to_contain_text("emails a newsletter when a trial opens")
        assert await serious_violations(page, axe_source) == []
        await card.get_by_role("link", name="in the live room").click()
        await expect(page.locator(f"#message-{seq}")).to_be_visible()
        assert watched.errors == []
    finally:
        for context in contexts:
            await context.close()

"""Journey "families like mine": a French parent finds the CMS community by typing "DOK7", joins, opts in with
gene DOK7, finds another DOK7 family, asks to connect; the other family accepts (another browser, another
process) and they write to each other live, both ways. At 375 px and 1280 px, with axe on each new page."""

from __future__ import annotations

import re

import asyncpg
import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from server.demo import CMS_CODES, CMS_SLUG
from tests.browser.axe import serious_violations
from tests.browser.conftest import horizontal_overflow, screenshot_path, signed_in_context, watch
from tests.factories import add_member, create_session, create_user, load_catalogue
from tests.harness import WebProcess
from tests.live_client import LiveClient

pytestmark = pytest.mark.browser
PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


async def _check(page: Page, axe_source: str, name: str) -> None:
    assert await serious_violations(page, axe_source) == [], name
    assert await horizontal_overflow(page) == 0, name
    await page.screenshot(path=screenshot_path(name), full_page=True)


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["375", "1280"])
async def test_a_french_parent_finds_a_dok7_family_connects_and_they_write_live(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str, size: ViewportSize
) -> None:
    await load_catalogue(demo_db, set(CMS_CODES))
    first, second = site
    camille = await create_user(demo_db, "camille", display_name="Camille")
    lucia = await demo_db.fetchval("SELECT id FROM users WHERE username = 'lucia'")
    cms = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    # Lucía's family shared its facts in the CMS community earlier.
    await demo_db.execute(
        "INSERT INTO family_facts (community_id, user_id, gene, languages) VALUES ($1, $2, 'DOK7', '{español, français}')",
        cms, lucia,
    )  # fmt: skip

    parent = await signed_in_context(
        browser, first, await create_session(demo_db, camille), viewport=size, locale="fr-FR"
    )
    parent_errors = watch(parent)
    page = await parent.new_page()
    await page.goto(first.base_url + "/")
    await page.get_by_role("button", name="D'accord, compris").click()
    await page.get_by_label("Cherchez par nom de la maladie").fill("DOK7")
    await page.locator("form.directory-search").get_by_role("button").click()
    await page.locator(".directory").get_by_role("link", name="Congenital Myasthenic Syndromes").click()
    await page.get_by_role("button", name="Rejoindre cette communauté").click()
    await page.get_by_role("link", name="Familles comme la mienne").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Familles comme la mienne")
    await expect(page.locator("main")).not_to_contain_text("Lucía")  # nothing shown before opting in
    await _check(page, axe_source, f"families-opt-in-{size['width']}")

    await page.get_by_label("Gène").fill("DOK7")
    await page.get_by_label("Langues que vous parlez").fill("français")
    await page.get_by_role("button", name="Partager et trouver des familles comme la mienne").click()
    await expect(page.get_by_role("status")).to_contain_text("Enregistré")
    match = page.locator(".family-matches > li").filter(has_text="Lucía")
    await expect(match).to_contain_text("DOK7")
    await expect(match).to_contain_text("français")
    await _check(page, axe_source, f"families-matches-{size['width']}")
    await match.get_by_role("button", name="Proposer à Lucía de faire connaissance").click()
    await expect(page.get_by_role("status")).to_contain_text("Demande envoyée")

    # Lucía, in English on the other process, accepts: the conversation opens and goes live.
    other = await signed_in_context(browser, second, await create_session(demo_db, lucia), viewport=size)
    other_errors = watch(other)
    friend = await other.new_page()
    await friend.goto(f"{second.base_url}/c/{CMS_SLUG}/families")
    await friend.get_by_role("button", name="OK, got it").click()
    await friend.get_by_role("button", name="Accept Camille").click()
    await expect(friend).to_have_url(re.compile(r"/conversations/\d+$"))
    await expect(friend.locator("#live-status")).to_have_text("Connected")

    await page.reload()
    await page.get_by_role("link", name="Écrire à Lucía").first.click()
    await expect(page.locator("#live-status")).to_have_text("Connecté")
    await _check(page, axe_source, f"conversation-{size['width']}")

    await page.get_by_label("Votre message").fill("Bonjour ! Notre fille a aussi DOK7.")
    await page.get_by_role("button", name="Envoyer").click()
    await expect(friend.locator("#messages")).to_contain_text("Notre fille a aussi DOK7.")
    await friend.get_by_label("Your message").fill("¡Hola Camille! Salbutamol helped us a lot.")
    await friend.get_by_role("button", name="Send").click()
    await expect(page.locator("#messages")).to_contain_text("Salbutamol helped us a lot.")
    await expect(page.locator("#messages li:not(.pending)")).to_have_count(2)
    await _check(friend, axe_source, f"conversation-friend-{size['width']}")
    assert await demo_db.fetchval("SELECT count(*) FROM conversation_messages") == 2
    assert parent_errors.errors == [] and other_errors.errors == []
    await parent.close()
    await other.close()


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["375", "1280"])
async def test_a_conversation_page_opens_one_websocket_which_also_moves_the_notification_count(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str, size: ViewportSize
) -> None:
    first, second = site
    cms = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    ids = {}
    for name in ("ana", "ben", "carla"):
        ids[name] = await create_user(demo_db, name, display_name=name.title())
        await add_member(demo_db, cms, ids[name])
    conversations = {}
    for other in ("ana", "carla"):
        conversations[other] = await demo_db.fetchval(
            """INSERT INTO family_connections (community_id, requester_id, addressee_id, status)
               VALUES ($1, $2, $3, 'accepted') RETURNING id""",
            cms, ids[other], ids["ben"],
        )  # fmt: skip
    context = await signed_in_context(browser, first, await create_session(demo_db, ids["ben"]), viewport=size)
    watched = watch(context)
    page = await context.new_page()
    await page.goto(first.base_url + "/")
    await page.evaluate("localStorage.setItem('kindred-cookie-notice', 'dismissed')")
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    await page.goto(f"{first.base_url}/conversations/{conversations['ana']}")
    await expect(page.locator("#live-status")).to_have_text("Connected")

    # Carla writes in her own conversation with Ben (the other process): his count moves on Ana's page.
    carla = await LiveClient.connect(second.ws_url, second.base_url, await create_session(demo_db, ids["carla"]))
    try:
        topic = f"dm:{conversations['carla']}"
        assert (await carla.join(topic))["type"] == "joined"
        assert (await carla.say(topic, "Hello Ben, are you on the DOK7 trial too?"))["type"] == "ack"
    finally:
        await carla.close()
    await expect(page.locator(".notifications-link .notification-count")).to_contain_text("1")
    assert sockets == [first.ws_url]
    assert await serious_violations(page, axe_source) == []
    assert watched.errors == []
    await context.close()

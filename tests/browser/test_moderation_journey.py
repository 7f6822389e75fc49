"""Journey "leader moderating": live removal, the first-post review queue, and a mute the member can read."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from babel.dates import format_datetime
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from server.demo import CMS_SLUG
from tests.browser.axe import serious_violations
from tests.browser.conftest import Watched, horizontal_overflow, screenshot_path, signed_in_context, watch
from tests.factories import add_member, create_session, create_user
from tests.harness import WebProcess
from tests.live_client import LiveClient

pytestmark = pytest.mark.browser
ROOM_PATH = f"/c/{CMS_SLUG}/live"
PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


async def _user_id(db: asyncpg.Connection, username: str) -> int:
    return int(await db.fetchval("SELECT id FROM users WHERE username = $1", username))


async def _signed_in(
    browser: Browser, web: WebProcess, db: asyncpg.Connection, username: str, *, phone: bool = False
) -> tuple[BrowserContext, Watched, Page]:
    """A member's context; members read on phones (375 px), leaders here on a desktop."""
    options = {"viewport": PHONE} if phone else {}
    context = await signed_in_context(browser, web, await create_session(db, await _user_id(db, username)), **options)
    watched = watch(context)
    return context, watched, await context.new_page()


async def _open_room(page: Page, web: WebProcess) -> None:
    await page.goto(web.base_url + ROOM_PATH)
    await expect(page.locator("#live-status")).to_have_text("Connected")


async def _say(page: Page, text: str) -> None:
    await page.get_by_label("Your message").fill(text)
    await page.get_by_role("button", name="Send").click()


async def test_a_leader_removes_a_message_with_a_reason_in_a_dialog_and_it_disappears_from_every_members_open_room(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str
) -> None:
    first, second = site
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    await add_member(demo_db, community, await create_user(demo_db, "tomas", display_name="Tomás"))
    lucia, lucia_watched, lucia_page = await _signed_in(browser, first, demo_db, "lucia", phone=True)
    tomas, tomas_watched, tomas_page = await _signed_in(browser, second, demo_db, "tomas", phone=True)
    amara, amara_watched, amara_page = await _signed_in(browser, second, demo_db, "amara")
    # Every frame the leader's page sends, to see what a submit sent (and that an empty one sent nothing).
    sent: list[dict[str, object]] = []
    amara_page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(json.loads(payload))))
    for page, web in [(lucia_page, first), (tomas_page, second), (amara_page, second)]:
        await _open_room(page, web)

    await _say(lucia_page, "Good morning, everyone.")
    await _say(lucia_page, "A man online sells a cure for CMS, message me for his number!")
    spam = "A man online sells a cure for CMS, message me for his number!"
    for page in (lucia_page, tomas_page, amara_page):
        await expect(page.locator("#messages li[data-seq]", has_text=spam)).to_have_count(1)

    # Members' menus have no Remove (the server refuses a member's remove frame anyway: test_live.py).
    for page in (tomas_page, lucia_page):
        item = page.locator("#messages li[data-seq]", has_text=spam)
        await item.get_by_role("button", name="Message actions").click()
        await expect(item.locator(".message-menu")).to_be_visible()
        await expect(page.get_by_role("button", name="Remove")).to_have_count(0)
        await expect(page.get_by_role("link", name="Remove")).to_have_count(0)
        await expect(page.locator("#remove-dialog")).to_have_count(0)

    # The leader's Remove is in the message's menu (the page's no-JS link gave way to it); it opens a dialog.
    item = amara_page.locator("#messages li[data-seq]", has_text=spam)
    toggle = item.get_by_role("button", name="Message actions")
    await expect(item.get_by_role("link", name="Remove")).to_have_count(0)
    dialog = amara_page.get_by_role("dialog", name="Remove this message")
    reason = dialog.get_by_label("Reason (the author sees it)")
    await toggle.click()
    await item.locator(".message-menu").get_by_role("button", name="Remove").click()
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text(spam)
    await expect(dialog).to_contain_text("its author is told privately, with your reason")
    await expect(reason).to_be_focused()
    # Escape closes it and gives the focus back to that message's menu button.
    await amara_page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(toggle).to_be_focused()
    # So does Cancel, its typed words left unsent.
    await toggle.click()
    await item.locator(".message-menu").get_by_role("button", name="Remove").click()
    await reason.fill("Not sure yet")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(toggle).to_be_focused()

    await toggle.click()
    await item.locator(".message-menu").get_by_role("button", name="Remove").click()
    await expect(reason).to_be_focused()
    for size, width in ((DESKTOP, "1280"), (PHONE, "375")):
        await amara_page.set_viewport_size(size)
        assert await serious_violations(amara_page, axe_source) == [], width
        await amara_page.screenshot(path=str(screenshot_path(f"live-room-remove-dialog-{width}")))
    assert await horizontal_overflow(amara_page) <= 0
    await amara_page.set_viewport_size(DESKTOP)

    # Empty: said in the dialog, nothing sent.
    await dialog.get_by_role("button", name="Remove").click()
    await expect(dialog.get_by_role("alert")).to_have_text("Please give a reason: the member will see it.")
    await expect(reason).to_have_attribute("aria-invalid", "true")
    await expect(dialog).to_be_visible()

    # Refused by the server (she stopped leading meanwhile): said in the dialog, her reason kept.
    amara_id = await _user_id(demo_db, "amara")
    await demo_db.execute("UPDATE memberships SET role = 'member' WHERE user_id = $1", amara_id)
    await reason.fill("Selling unproven treatments")
    await dialog.get_by_role("button", name="Remove").click()
    await expect(dialog.get_by_role("alert")).to_have_text("Only this community's leaders can do that.")
    await expect(reason).to_have_value("Selling unproven treatments")
    await expect(amara_page.locator("#composer-error")).to_be_empty()
    await demo_db.execute("UPDATE memberships SET role = 'leader' WHERE user_id = $1", amara_id)

    # Sent again: gone from both members' open pages, on both processes, without a reload; the rest stays.
    await dialog.get_by_role("button", name="Remove").click()
    for page in (lucia_page, tomas_page):
        await expect(page.locator("#messages li", has_text=spam)).to_have_count(0)
        await expect(page.locator("#messages li", has_text="Good morning, everyone.")).to_have_count(1)
    # The leader still sees it, marked as removed; the dialog closed and the focus is on that message.
    removed = amara_page.locator("#messages li.removed", has_text=spam)
    await expect(removed).to_contain_text("removed by a leader")
    await expect(dialog).to_be_hidden()
    await expect(removed).to_be_focused()
    removes = [frame for frame in sent if frame.get("type") == "remove"]
    assert [frame["reason"] for frame in removes] == ["Selling unproven treatments"] * 2
    assert amara_watched.dialogs == []

    row = await demo_db.fetchrow("SELECT state, state_reason FROM room_messages WHERE body = $1", spam)
    assert (row["state"], row["state_reason"]) == ("hidden", "Selling unproven treatments")
    audit = await demo_db.fetchrow("SELECT action, reason FROM moderation_actions ORDER BY id DESC LIMIT 1")
    assert (audit["action"], audit["reason"]) == ("remove_message", "Selling unproven treatments")

    assert await horizontal_overflow(lucia_page) <= 0 and await horizontal_overflow(tomas_page) <= 0

    # It does not come back with a reload either; the leader's reload shows the reason.
    await tomas_page.reload()
    await expect(tomas_page.locator("#messages")).to_contain_text("Good morning, everyone.")
    await expect(tomas_page.locator("#messages li", has_text=spam)).to_have_count(0)
    await amara_page.reload()
    await expect(amara_page.locator("#messages li.removed", has_text=spam)).to_contain_text(
        "Selling unproven treatments"
    )

    # Lucía is told privately, with the reason: her notification count moves live, then the sentence.
    await expect(lucia_page.locator(".notifications-link .notification-count")).to_contain_text("1")
    await lucia_page.goto(first.base_url + "/notifications")
    await expect(lucia_page.locator("main")).to_contain_text(
        "A leader hid your message in Main room. Reason: Selling unproven treatments"
    )
    await tomas_page.goto(second.base_url + "/notifications")
    await expect(tomas_page.locator("main")).not_to_contain_text("A leader hid your message")

    assert lucia_watched.errors == [] and tomas_watched.errors == [] and amara_watched.errors == []
    assert lucia_watched.dialogs == [] and tomas_watched.dialogs == []
    for context in (lucia, tomas, amara):
        await context.close()


async def test_a_leaders_menu_offers_remove_only_for_authors_she_outranks_sent_with_the_page_or_live(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    """chat.do_remove_message refuses a leader's remove of her own, another leader's or an admin's message:
    the page offers it only where the server would take it (access.can_moderate_author)."""
    first, second = site
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    await add_member(demo_db, community, await create_user(demo_db, "rosa", display_name="Rosa"), "leader")
    room = f"{CMS_SLUG}/main"
    speakers = {
        name: await LiveClient.connect(
            first.ws_url, first.base_url, await create_session(demo_db, await _user_id(demo_db, name))
        )
        for name in ("amara", "rosa", "lucia")
    }
    try:
        for name, speaker in speakers.items():
            await speaker.join(room)
            assert (await speaker.say(room, f"Before: {name}"))["type"] == "ack"
        amara, watched, page = await _signed_in(browser, second, demo_db, "amara")
        await _open_room(page, second)
        for name, speaker in speakers.items():
            assert (await speaker.say(room, f"Live: {name}"))["type"] == "ack"
        for when in ("Before", "Live"):
            for name in ("amara", "rosa", "lucia"):
                item = page.locator("#messages li[data-seq]", has_text=f"{when}: {name}")
                await item.get_by_role("button", name="Message actions").click()
                menu = item.locator(".message-menu")
                await expect(menu).to_be_visible()
                await expect(menu.get_by_role("button", name="Remove")).to_have_count(1 if name == "lucia" else 0)
                # moderate.js's link to the message's moderation page (mute, send back) follows the same rule.
                await expect(item.locator("a.moderate-message")).to_have_count(1 if name == "lucia" else 0)
                await page.keyboard.press("Escape")
        assert watched.errors == []
        await amara.close()
    finally:
        for speaker in speakers.values():
            await speaker.close()


async def test_a_muted_member_is_told_why_and_until_when_in_the_live_room_and_the_forum(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    first, second = site
    await demo_db.execute("UPDATE users SET time_zone = 'America/Bogota' WHERE username = 'lucia'")
    lucia, lucia_watched, lucia_page = await _signed_in(browser, first, demo_db, "lucia", phone=True)
    amara, amara_watched, amara_page = await _signed_in(browser, second, demo_db, "amara")
    # Lucía has the room open before the mute: the mute reaches it live (the server refuses her sends either way).
    await _open_room(lucia_page, first)

    # The leader mutes her for an hour from the members page, with a reason Lucía will read.
    await amara_page.goto(second.base_url + f"/c/{CMS_SLUG}/members")
    row = amara_page.locator(".member-row", has_text="Lucía")
    await row.get_by_text("Mute or ban Lucía").click()
    await row.get_by_label("Mute for").select_option("1h")
    await row.get_by_label("Reason (the member sees it)").fill("Please take a short break after the argument.")
    await row.get_by_role("button", name="Mute", exact=True).click()
    await expect(amara_page.locator("#sanctions-heading")).to_have_text("Mutes and bans in force")
    await expect(amara_page.locator("main")).to_contain_text("Please take a short break after the argument.")
    ends_at = await demo_db.fetchval(
        "SELECT ends_at FROM sanctions WHERE kind = 'mute' AND user_id = $1", await _user_id(demo_db, "lucia")
    )
    shown_end = format_datetime(ends_at, format="medium", tzinfo=ZoneInfo("America/Bogota"), locale="en")
    expected = (
        f"You are muted in this community until {shown_end}. Reason: Please take a short break after the argument."
    )

    # In the open live room: the composer is disabled at once, under the reason and the end in her time zone
    # (the end as her browser writes it; test_live_mute_journey.py follows the lifting and the end)...
    words = "I still think the doctor was wrong."
    await expect(lucia_page.get_by_label("Your message")).to_be_disabled()
    banner = lucia_page.locator("#composer-muted")
    await expect(banner).to_contain_text("You are muted in this community until")
    local_end = ends_at.astimezone(ZoneInfo("America/Bogota"))
    await expect(banner).to_contain_text(f"{local_end:%b} {local_end.day}, {local_end.year}")
    await expect(banner).to_contain_text(f"{local_end.hour % 12 or 12}:{local_end:%M}")
    await expect(banner).to_contain_text("Reason: Please take a short break after the argument.")
    # ...and as the server writes it, once she reloads.
    await lucia_page.reload()
    await expect(banner).to_have_text(expected)
    await expect(lucia_page.get_by_label("Your message")).to_be_disabled()
    assert await horizontal_overflow(lucia_page) <= 0
    await lucia_page.screenshot(path=str(screenshot_path("muted-member-375")))

    # In the forum: the same message where the reply box would be, before she types a word
    # (a reply sent anyway is refused by the server with the same message, its draft kept: test_forum.py).
    thread_id = await demo_db.fetchval("SELECT id FROM threads WHERE kind = 'introduction'")
    await lucia_page.goto(first.base_url + f"/c/{CMS_SLUG}/t/{thread_id}")
    await expect(lucia_page.locator("#reply-refused")).to_have_text(expected)
    await expect(lucia_page.get_by_label("Your reply")).to_have_count(0)
    assert await horizontal_overflow(lucia_page) <= 0
    assert await demo_db.fetchval("SELECT count(*) FROM room_messages WHERE body = $1", words) == 0
    assert await demo_db.fetchval("SELECT count(*) FROM posts WHERE body_md = $1", words) == 0

    # The leader lifts the mute; Lucía can talk again in the room.
    await amara_page.get_by_role("button", name="Lift the mute").click()
    await expect(amara_page.locator("#sanctions-heading")).to_have_count(0)
    await _open_room(lucia_page, first)
    await _say(lucia_page, "Sorry about earlier.")
    await expect(
        lucia_page.locator("#messages li[data-seq]:not(.pending)", has_text="Sorry about earlier.")
    ).to_have_count(1)

    # The refused reply is answered with status 403, which Chromium logs; nothing else went wrong.
    refused = "console: Failed to load resource: the server responded with a status of 403 (Forbidden)"
    assert [error for error in lucia_watched.errors if error != refused] == []
    assert amara_watched.errors == []
    for context in (lucia, amara):
        await context.close()


async def test_a_new_members_first_posts_wait_for_review_and_reach_others_only_once_approved(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str
) -> None:
    first, second = site
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    await add_member(demo_db, community, await create_user(demo_db, "noor", display_name="Noor"), approved_posts=0)
    intro = await demo_db.fetchval("SELECT id FROM threads WHERE kind = 'introduction'")
    noor, noor_watched, noor_page = await _signed_in(browser, first, demo_db, "noor", phone=True)
    lucia, lucia_watched, lucia_page = await _signed_in(browser, second, demo_db, "lucia", phone=True)
    amara, amara_watched, amara_page = await _signed_in(browser, second, demo_db, "amara")
    lucia_room = await lucia.new_page()
    await _open_room(lucia_room, second)
    await lucia_page.goto(second.base_url + f"/c/{CMS_SLUG}/t/{intro}")

    # Noor's first chat message: she sees it, marked as waiting; Lucía, in the room, does not.
    first_words = "Hello, I am Noor. My son was diagnosed with CMS last month."
    await _open_room(noor_page, first)
    await _say(noor_page, first_words)
    mine = noor_page.locator("#messages li[data-seq]", has_text=first_words)
    await expect(mine).to_contain_text("waiting for review")
    # Her first forum reply: shown to her with the review notice.
    await noor_page.goto(first.base_url + f"/c/{CMS_SLUG}/t/{intro}")
    await noor_page.get_by_label("Your reply").fill("Lucía, we are new too. School is our worry as well.")
    await noor_page.get_by_role("button", name="Send reply").click()
    noor_post = noor_page.locator("article.post", has_text="School is our worry as well.")
    await expect(noor_post.locator(".notice")).to_contain_text("Waiting for review")
    assert await horizontal_overflow(noor_page) <= 0

    # Nothing reached Lucía, live or on reload.
    await lucia_page.reload()
    await expect(lucia_page.locator("#thread-posts")).to_contain_text("My daughter was diagnosed")
    await expect(lucia_page.locator("article.post", has_text="School is our worry")).to_have_count(0)
    await lucia_room.reload()
    await expect(lucia_room.locator("#live-status")).to_have_text("Connected")
    await expect(lucia_room.locator("#messages li", has_text=first_words)).to_have_count(0)

    # The leader's review queue lists both, readable and accessible; she approves them.
    await amara_page.goto(second.base_url + f"/c/{CMS_SLUG}/review")
    held_post = amara_page.locator("#held-posts-heading + ol .review-item", has_text="Written by Noor")
    held_message = amara_page.locator("#held-messages-heading + ol .review-item", has_text="Written by Noor")
    await expect(held_post).to_contain_text("School is our worry as well.")
    await expect(held_post.locator(".review-title")).to_have_text("Reply in “My first connection: CMS”")
    await expect(held_message).to_contain_text(first_words)
    assert await serious_violations(amara_page, axe_source) == []
    await amara_page.screenshot(path=str(screenshot_path("review-queue-1280")))
    await held_message.get_by_role("button", name="Approve").click()
    await expect(amara_page.locator(".review-item", has_text=first_words)).to_have_count(0)
    await (
        amara_page.locator(".review-item", has_text="School is our worry").get_by_role("button", name="Approve").click()
    )
    await expect(amara_page.locator(".review-item", has_text="Written by Noor")).to_have_count(0)

    # The approved message reaches Lucía's open room at once; the reply is in the thread for everyone.
    await expect(lucia_room.locator("#messages li[data-seq]", has_text=first_words)).to_have_count(1)
    await expect(lucia_page.locator("article.post", has_text="School is our worry as well.")).to_have_count(1)
    await lucia_page.reload()
    await expect(lucia_page.locator("article.post", has_text="School is our worry as well.")).to_have_count(1)
    await expect(lucia_page.locator("article.post", has_text="School is our worry").locator(".notice")).to_have_count(0)
    states = await demo_db.fetch(
        "SELECT state FROM posts WHERE body_md LIKE 'Lucía, we are new too.%' UNION ALL "
        "SELECT state FROM room_messages WHERE body = $1",
        first_words,
    )
    assert [row["state"] for row in states] == ["visible", "visible"]
    actions = await demo_db.fetch("SELECT action FROM moderation_actions ORDER BY id")
    assert [row["action"] for row in actions] == ["approve_message", "approve_post"]

    for watched in (noor_watched, lucia_watched, amara_watched):
        assert watched.errors == [] and watched.dialogs == []
    for context in (noor, lucia, amara):
        await context.close()


async def test_an_approved_reply_appears_on_open_thread_pages_without_a_reload(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    first, second = site
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    noor_id = await create_user(demo_db, "noor", display_name="Noor")
    await add_member(demo_db, community, noor_id, approved_posts=0)
    intro = await demo_db.fetchval("SELECT id FROM threads WHERE kind = 'introduction'")
    held = await demo_db.fetchval(
        "INSERT INTO posts (thread_id, author_id, body_md, state) VALUES ($1, $2, 'We are new too.', 'held') RETURNING id",
        intro,
        noor_id,
    )
    lucia, lucia_watched, lucia_page = await _signed_in(browser, first, demo_db, "lucia")
    await lucia_page.goto(first.base_url + f"/c/{CMS_SLUG}/t/{intro}")
    await lucia_page.evaluate("window.stillTheSamePage = true")
    await expect(lucia_page.locator("article.post", has_text="We are new too.")).to_have_count(0)

    amara, amara_watched, amara_page = await _signed_in(browser, second, demo_db, "amara")
    await amara_page.goto(second.base_url + f"/c/{CMS_SLUG}/review")
    await amara_page.locator(f"#held-post-{held}").get_by_role("button", name="Approve").click()
    await expect(amara_page.locator(f"#held-post-{held}")).to_have_count(0)

    await expect(lucia_page.locator("article.post", has_text="We are new too.")).to_have_count(1, timeout=10_000)
    assert await lucia_page.evaluate("window.stillTheSamePage") is True
    assert lucia_watched.errors == [] and amara_watched.errors == []
    for context in (lucia, amara):
        await context.close()

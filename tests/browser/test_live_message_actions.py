"""A live room's message actions in Chromium at phone and desktop widths: reply (and its quote once the original
is gone), react, @mention with the keyboard, edit and delete one's own message, and a leader reading the
earlier texts; each checked with axe (no serious or critical violation)."""

from __future__ import annotations

import asyncpg
import pytest
from playwright.async_api import Browser, Locator, Page, ViewportSize, expect

from server.demo import CMS_SLUG
from tests.browser.axe import serious_violations
from tests.browser.conftest import screenshot_path, signed_in_context, watch
from tests.factories import add_member, create_session, create_user
from tests.harness import WebProcess
from tests.live_client import LiveClient

pytestmark = pytest.mark.browser

ROOM = f"{CMS_SLUG}/main"
ROOM_PATH = f"/c/{CMS_SLUG}/live"
PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
WIDTHS = pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])


async def _person(db: asyncpg.Connection, username: str, display_name: str) -> tuple[int, str]:
    community = await db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    user_id = await create_user(db, username, display_name=display_name)
    await add_member(db, community, user_id)
    return user_id, await create_session(db, user_id)


async def _open_room(
    browser: Browser, web: WebProcess, session: str, viewport: ViewportSize, path: str = ROOM_PATH
) -> Page:
    context = await signed_in_context(browser, web, session, viewport=viewport)
    page = await context.new_page()
    page.watched = watch(context)  # type: ignore[attr-defined]
    await page.goto(web.base_url + "/")
    await page.evaluate("localStorage.setItem('kindred-cookie-notice', 'dismissed')")
    await page.goto(web.base_url + path)
    await expect(page.locator("#live-status")).to_have_text("Connected")
    return page


async def _no_serious_violations(page: Page, axe_source: str, moment: str) -> None:
    violations = await serious_violations(page, axe_source)
    assert violations == [], f"{moment}: {violations}"


def _message(page: Page, text: str) -> Locator:
    return page.locator("#messages li.message[data-seq]", has_text=text)


@WIDTHS
async def test_a_member_replies_reacts_mentions_edits_and_deletes_in_the_room(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str, viewport: ViewportSize
) -> None:
    web = site[0]
    nadia_id, nadia = await _person(demo_db, "nadia", "Nadia Benali")
    tomas_id, tomas_session = await _person(demo_db, "tomas", "Tomás Ruiz")
    # Tomás writes from the other process, and stays there to see what Nadia does.
    tomas = await LiveClient.connect(site[1].ws_url, site[1].base_url, tomas_session)
    await tomas.join(ROOM)
    await tomas.send({"type": "watch", "topic": "member:me"})
    asked = await tomas.say(ROOM, "Has anyone tried swimming lessons?")
    page = await _open_room(browser, web, nadia, viewport)
    original = page.locator(f'#messages li[data-seq="{asked["seq"]}"]')
    width = viewport["width"]

    # Reply: the menu's "Reply", a note over the composer, and the sent message quotes the original.
    await original.get_by_role("button", name="Message actions").click()
    await _no_serious_violations(page, axe_source, "message menu open")
    await original.get_by_role("button", name="Reply").click()
    await expect(page.locator("#reply-text")).to_contain_text("Replying to Tomás Ruiz")
    box = page.get_by_label("Your message")
    await expect(box).to_be_focused()
    await box.fill("Yes, twice a week since May.")
    await box.press("Enter")
    reply = _message(page, "Yes, twice a week since May.")
    await expect(reply.locator(".reply-quote")).to_contain_text("In reply to Tomás Ruiz")
    await expect(reply.locator(".reply-quote")).to_contain_text("Has anyone tried swimming lessons?")
    await expect(page.locator("#reply-bar")).to_be_hidden()
    frame = await tomas.wait_for(lambda f: f["type"] == "message" and f.get("reply_to") is not None)
    assert frame["reply_to"]["author"] == "Tomás Ruiz"
    # Its link jumps back to the original.
    await reply.locator(".reply-quote a").click()
    await expect(original).to_be_focused()
    # Tomás rewords his question: the quote of it in Nadia's reply follows, live.
    reworded = "Has anyone tried swimming or hydrotherapy?"
    await tomas.send({"type": "edit", "room": ROOM, "seq": asked["seq"], "body": reworded})
    await expect(reply.locator(".reply-excerpt")).to_have_text(reworded)

    # React: "Thank you" from the menu; the count and who reacted show, and Tomás sees it live.
    await original.get_by_role("button", name="Message actions").click()
    await original.get_by_role("button", name="Thank you").click()
    chip = original.locator(".message-reactions button[data-react='thanks']")
    await expect(chip).to_have_text("Thank you · 1")
    await expect(chip).to_have_attribute("aria-pressed", "true")
    await expect(original.locator(".message-reactions")).to_contain_text("Thank you: Nadia Benali")
    shown = await tomas.wait_for(lambda f: f["type"] == "reactions")
    assert shown["reactions"][0]["users"][0]["display_name"] == "Nadia Benali"
    await page.screenshot(path=str(screenshot_path(f"live-room-reply-react-{width}")))
    await _no_serious_violations(page, axe_source, "reply and reaction shown")

    # Mention: "@to" offers Tomás; arrows, Enter and Escape work the list; the mention notifies him.
    await box.fill("")
    await box.type("Thank you @to")
    options = page.get_by_role("listbox", name="Members to mention").get_by_role("option")
    await expect(options).to_have_count(1)
    await expect(options.first).to_have_text("Tomás Ruiz (@tomas)")
    await expect(box).to_have_attribute("aria-expanded", "true")
    await expect(options.first).to_have_attribute("aria-selected", "true")
    await _no_serious_violations(page, axe_source, "mention list open")
    await box.press("Escape")
    await expect(box).to_have_attribute("aria-expanded", "false")
    await box.type("m")
    await expect(options).to_have_count(1)
    await box.press("ArrowDown")
    await box.press("Enter")
    await expect(box).to_have_value("Thank you @tomas ")
    await box.type("for the tip!")
    await box.press("Enter")
    await expect(_message(page, "Thank you @tomas for the tip!")).to_have_count(1)
    await expect(page.locator("#messages li.pending")).to_have_count(0)
    await tomas.wait_for(lambda f: f["type"] == "notify")
    notified = await demo_db.fetch("SELECT kind, actor_id FROM notifications WHERE user_id = $1", tomas_id)
    assert [(row["kind"], row["actor_id"]) for row in notified] == [("mention", nadia_id)]
    # Members who are neither here nor in the history are found by the server as the name is typed.
    await _person(demo_db, "yusuf", "Yusuf Demir")
    await box.type("@yus")
    await expect(options).to_have_text(["Yusuf Demir (@yusuf)"])
    await box.press("Tab")
    await expect(box).to_have_value("@yusuf ")
    await box.fill("")

    # Edit: her own message, in place; it reads "edited" for everyone.
    mine = _message(page, "Yes, twice a week since May.")
    await mine.get_by_role("button", name="Message actions").click()
    await mine.get_by_role("button", name="Edit").click()
    field = mine.get_by_label("Edit your message")
    await expect(field).to_be_focused()
    await _no_serious_violations(page, axe_source, "editing")
    await field.fill("Yes, twice a week since March.")
    await mine.get_by_role("button", name="Save").click()
    edited = _message(page, "Yes, twice a week since March.")
    await expect(edited.locator(".edited-mark")).to_have_text("edited")
    await tomas.wait_for(lambda f: f["type"] == "edit" and f["body"] == "Yes, twice a week since March.")

    # Delete: asked in the page, then gone for everyone.
    await edited.get_by_role("button", name="Message actions").click()
    await edited.get_by_role("button", name="Delete").click()
    await expect(edited.get_by_text("Delete this message for everyone?")).to_be_visible()
    await _no_serious_violations(page, axe_source, "confirming a deletion")
    await edited.get_by_role("group").get_by_role("button", name="Delete").click()
    await expect(edited).to_have_count(0)
    await tomas.wait_for(lambda f: f["type"] == "remove" and f.get("deleted") is True)
    assert (
        await demo_db.fetchval(
            "SELECT state FROM room_messages WHERE author_id = $1 AND body LIKE 'Yes, twice%'", nadia_id
        )
        == "deleted"
    )
    assert page.watched.errors == [] and page.watched.dialogs == []  # type: ignore[attr-defined]
    await tomas.close()
    await page.context.close()


@WIDTHS
async def test_a_replys_quote_reads_message_removed_once_the_original_is_gone_and_leaders_read_earlier_texts(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str, viewport: ViewportSize
) -> None:
    web = site[0]
    _lina_id, lina_session = await _person(demo_db, "lina", "Lina")
    _omar_id, omar_session = await _person(demo_db, "omar", "Omar")
    lina = await LiveClient.connect(web.ws_url, web.base_url, lina_session)
    omar = await LiveClient.connect(web.ws_url, web.base_url, omar_session)
    await lina.join(ROOM)
    await omar.join(ROOM)
    first = await lina.say(ROOM, "Our clinic's number is 01 23 45 67 89")
    assert first["type"] == "ack"
    await omar.send(
        {"type": "send", "room": ROOM, "client_id": "reply-1", "body": "Thanks, calling now", "reply_to": first["seq"]}
    )
    await omar.wait_for(lambda f: f["type"] == "ack")
    await omar.send({"type": "edit", "room": ROOM, "seq": first["seq"] + 1, "body": "Thanks, I called them"})
    await omar.wait_for(lambda f: f["type"] == "edit")

    amara = await demo_db.fetchval("SELECT id FROM users WHERE username = 'amara'")  # the demo's leader
    page = await _open_room(browser, web, await create_session(demo_db, amara), viewport)
    reply = _message(page, "Thanks, I called them")
    await expect(reply.locator(".reply-quote")).to_contain_text("01 23 45 67 89")
    # Lina deletes her message: the quote says so at once, without its words.
    await lina.send({"type": "delete", "room": ROOM, "seq": first["seq"]})
    await expect(reply.locator(".reply-quote")).to_have_text("message removed")
    await expect(page.locator("#messages")).not_to_contain_text("01 23 45 67 89")
    await page.reload()
    await expect(page.locator("#live-status")).to_have_text("Connected")
    await expect(reply.locator(".reply-quote")).to_have_text("message removed")
    await expect(page.locator("#messages")).not_to_contain_text("01 23 45 67 89")

    # A leader's "edited" is a button: the earlier text shows under the message.
    await reply.get_by_role("button", name="edited").click()
    await expect(reply.locator(".versions")).to_contain_text("Earlier versions")
    await expect(reply.locator(".versions")).to_contain_text("Thanks, calling now")
    await page.screenshot(path=str(screenshot_path(f"live-room-removed-quote-versions-{viewport['width']}")))
    await _no_serious_violations(page, axe_source, "earlier versions shown")
    assert page.watched.errors == []  # type: ignore[attr-defined]
    await lina.close()
    await omar.close()
    await page.context.close()


@WIDTHS
async def test_a_quote_of_a_message_older_than_the_page_brings_the_history_back_to_it(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str, viewport: ViewportSize
) -> None:
    web = site[0]
    _, nadia = await _person(demo_db, "nadia", "Nadia Benali")
    tomas_id, _ = await _person(demo_db, "tomas", "Tomás Ruiz")
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    room_id = await demo_db.fetchval(
        "INSERT INTO rooms (community_id, slug, name) VALUES ($1, 'history', 'History') RETURNING id", community
    )
    # 60 messages: the page shows the latest 50, and the last one answers the first.
    first_id = await demo_db.fetchval(
        """INSERT INTO room_messages (room_id, seq, author_id, client_msg_id, body)
           VALUES ($1, 1, $2, 'c1', 'Has anyone tried a cooling vest?') RETURNING id""",
        room_id,
        tomas_id,
    )
    for seq in range(2, 60):
        await demo_db.execute(
            "INSERT INTO room_messages (room_id, seq, author_id, client_msg_id, body) VALUES ($1, $2, $3, $4, $5)",
            room_id,
            seq,
            tomas_id,
            f"c{seq}",
            f"Message number {seq}",
        )
    await demo_db.execute(
        """INSERT INTO room_messages (room_id, seq, author_id, client_msg_id, body, reply_to_id)
           VALUES ($1, 60, $2, 'c60', 'Back to the vest: ours arrived today.', $3)""",
        room_id,
        tomas_id,
        first_id,
    )
    await demo_db.execute("UPDATE rooms SET last_seq = 60 WHERE id = $1", room_id)
    page = await _open_room(browser, web, nadia, viewport, f"/c/{CMS_SLUG}/live/history")
    await expect(_message(page, "Message number 11")).to_be_visible()
    await expect(page.locator("#message-1")).to_have_count(0)

    await _message(page, "Back to the vest").locator(".reply-quote a").click()
    original = page.locator("#message-1")
    await expect(original.locator(".message-body")).to_have_text("Has anyone tried a cooling vest?")
    await expect(original).to_be_in_viewport()
    await expect(original).to_be_focused()
    # The history in between is back too, in order, each message once.
    seqs = await page.locator("#messages li.message[data-seq]").evaluate_all(
        "items => items.map(item => parseInt(item.getAttribute('data-seq'), 10))"
    )
    assert seqs == list(range(1, 61))
    await _no_serious_violations(page, axe_source, "after jumping to an older quoted message")
    assert page.watched.errors == []  # type: ignore[attr-defined]
    await page.context.close()


async def _history_room(db: asyncpg.Connection, author: int, count: int) -> int:
    """A room "History" of count messages by author, "Message number 1" to count; returns its id."""
    community = await db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    room_id = await db.fetchval(
        "INSERT INTO rooms (community_id, slug, name) VALUES ($1, 'history', 'History') RETURNING id", community
    )
    await db.executemany(
        "INSERT INTO room_messages (room_id, seq, author_id, client_msg_id, body) VALUES ($1, $2, $3, $4, $5)",
        [(room_id, seq, author, f"c{seq}", f"Message number {seq}") for seq in range(1, count + 1)],
    )
    await db.execute("UPDATE rooms SET last_seq = $2 WHERE id = $1", room_id, count)
    return int(room_id)


async def test_a_link_to_a_message_older_than_the_page_brings_the_history_back_and_focuses_it(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str
) -> None:
    web = site[0]
    _, nadia = await _person(demo_db, "nadia", "Nadia Benali")
    tomas_id, _ = await _person(demo_db, "tomas", "Tomás Ruiz")
    await _history_room(demo_db, tomas_id, 80)  # the page shows the latest 50: 31 to 80
    # As a notification or a quote in a tip links to it: the room's address and #message-<seq>.
    page = await _open_room(browser, web, nadia, PHONE, f"/c/{CMS_SLUG}/live/history#message-5")
    linked = page.locator("#message-5")
    await expect(linked.locator(".message-body")).to_have_text("Message number 5")
    await expect(linked).to_be_in_viewport()
    await expect(linked).to_be_focused()
    seqs = await page.locator("#messages li.message[data-seq]").evaluate_all(
        "items => items.map(item => parseInt(item.getAttribute('data-seq'), 10))"
    )
    assert seqs == list(range(5, 81))
    # The address changing to an older one still (a notification clicked on this page) does the same.
    await page.evaluate("window.location.hash = '#message-2'")
    await expect(page.locator("#message-2")).to_be_focused()
    await expect(page.locator("#message-2")).to_be_in_viewport()
    await _no_serious_violations(page, axe_source, "after following a link to an older message")
    assert page.watched.errors == []  # type: ignore[attr-defined]
    await page.context.close()


async def test_a_link_to_a_removed_message_or_one_never_there_says_so_instead_of_nothing(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str
) -> None:
    web = site[0]
    _, nadia = await _person(demo_db, "nadia", "Nadia Benali")
    tomas_id, _ = await _person(demo_db, "tomas", "Tomás Ruiz")
    room_id = await _history_room(demo_db, tomas_id, 80)
    await demo_db.execute("UPDATE room_messages SET state = 'hidden' WHERE room_id = $1 AND seq = 5", room_id)
    # A notification's link to a message a leader has removed since: told so, the next one shown.
    page = await _open_room(browser, web, nadia, PHONE, f"/c/{CMS_SLUG}/live/history#message-5")
    note = page.locator("#jump-note")
    await expect(note).to_have_text("That message is no longer in the room: it was removed or deleted.")
    await expect(note).to_have_attribute("role", "status")
    await expect(page.locator("#message-6")).to_be_focused()
    await expect(page.locator("#message-5")).to_have_count(0)
    # A link to a seq the room never had: told too.
    await page.evaluate("window.location.hash = '#message-900'")
    await expect(note).to_have_text("That message is not in the room any more, or too far back to show here.")
    await _no_serious_violations(page, axe_source, "after a link to a removed message")
    assert page.watched.errors == []  # type: ignore[attr-defined]
    await page.context.close()


async def test_the_composer_line_shows_this_rooms_refusals_not_those_of_another_scripts_watch(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    _, nadia = await _person(demo_db, "nadia", "Nadia Benali")
    page = await _open_room(browser, site[0], nadia, PHONE)
    # Every text the composer's error line shows, in order.
    await page.evaluate(
        """() => {
          const line = document.getElementById("composer-error");
          window.shownErrors = [];
          new MutationObserver(() => { if (line.textContent) window.shownErrors.push(line.textContent); })
            .observe(line, { childList: true, characterData: true, subtree: true });
        }"""
    )
    # On the page's one socket: another script's watch of a thread that is not there (refused), then a
    # frame of this room's refused too; the socket answers in order, so the second error comes last.
    await page.evaluate(
        """room => {
          window.kindredSocket.send({ type: "watch", topic: "thread:999999" });
          window.kindredSocket.send({ type: "edit", room: room, seq: 999999, body: "x" });
        }""",
        ROOM,
    )
    line = page.locator("#composer-error")
    await expect(line).to_have_text("That message does not exist.")
    assert await page.evaluate("window.shownErrors") == ["That message does not exist."]
    assert page.watched.errors == []  # type: ignore[attr-defined]
    await page.context.close()

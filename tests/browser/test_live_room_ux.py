"""The live room as a modern chat on a phone and a desktop: Enter sends, the composer stays in view, the room
opens at the newest message with a "new messages" line, and messages read in groups under day separators
with initials avatars and leader and expert badges."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

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


MAIN_ROOM = "SELECT r.id FROM rooms r JOIN communities c ON c.id = r.community_id WHERE c.slug = $1 AND r.slug = 'main'"


async def _person(db: asyncpg.Connection, username: str, display_name: str, *, expert: bool = False) -> tuple[int, str]:
    community = await db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    user_id = await create_user(db, username, display_name=display_name, expert=expert)
    await add_member(db, community, user_id)
    return user_id, await create_session(db, user_id)


async def _say_all(web: WebProcess, lines: list[tuple[str, str]]) -> None:
    """Each (session, text) sent in order through the real websocket."""
    clients: dict[str, LiveClient] = {}
    try:
        for session, text in lines:
            if session not in clients:
                clients[session] = await LiveClient.connect(web.ws_url, web.base_url, session)
                await clients[session].join(ROOM)
            assert (await clients[session].say(ROOM, text))["type"] == "ack"
    finally:
        for client in clients.values():
            await client.close()


async def _scrolled_to_the_newest(page: Page) -> bool:
    at_end: bool = await page.evaluate(
        "() => { const s = document.getElementById('message-scroller');"
        " return s.scrollTop + s.clientHeight >= s.scrollHeight - 2; }"
    )
    return at_end


async def _uncovered(page: Page, selector: str) -> bool:
    """The middle of the element is on screen and nothing (such as the pinned composer) lies over it."""
    clear: bool = await page.evaluate(
        """selector => {
      const e = document.querySelector(selector);
      const box = e.getBoundingClientRect();
      const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
      return !!top && (top === e || e.contains(top));
    }""",
        selector,
    )
    return clear


@WIDTHS
async def test_the_room_opens_at_the_newest_message_with_the_new_messages_line_and_enter_sends(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str, viewport: ViewportSize
) -> None:
    web = site[0]
    nadia_id, nadia = await _person(demo_db, "nadia", "Nadia Benali")
    _tomas_id, tomas = await _person(demo_db, "tomas", "Tomás")
    earlier = [(nadia if n % 2 else tomas, f"Earlier message {n}") for n in range(1, 31)]
    await _say_all(web, [*earlier, *[(tomas, f"New since you left {n}") for n in range(31, 37)]])
    # Nadia last read up to message 30.
    await demo_db.execute(
        f"INSERT INTO room_members (room_id, user_id, last_read_seq) VALUES (({MAIN_ROOM}), $2, 30)", CMS_SLUG, nadia_id
    )
    context = await signed_in_context(browser, web, nadia, viewport=viewport)
    watched = watch(context)
    page = await context.new_page()
    await page.goto(web.base_url + "/")
    await page.evaluate("localStorage.setItem('kindred-cookie-notice', 'dismissed')")
    await page.goto(web.base_url + ROOM_PATH)
    status = page.locator("#live-status")
    await expect(status).to_have_text("Connected")

    # It opens at the newest message, with the composer and the connection state on screen.
    newest = page.locator("#messages li", has_text="New since you left 36")
    await expect(newest).to_be_in_viewport()
    assert await _scrolled_to_the_newest(page)
    assert await _uncovered(page, '#messages li[data-seq="36"] .message-body')
    await expect(page.get_by_label("Your message")).to_be_in_viewport()
    await expect(status).to_be_in_viewport()
    await expect(page.get_by_role("button", name="Send", exact=True)).to_be_in_viewport()
    # The line sits right before the first message Nadia had not read.
    divider = page.locator("#messages li.unread-divider")
    await expect(divider).to_have_count(1)
    await expect(divider).to_have_text("New messages")
    await expect(page.locator('#messages li.unread-divider + li[data-seq="31"]')).to_have_count(1)
    jump = page.get_by_role("button", name="Jump to the latest message")
    await expect(jump).to_be_hidden()
    await page.screenshot(path=str(screenshot_path(f"live-room-opened-{viewport['width']}")))

    # Scrolled back up to read, a button brings the reader back down.
    await page.locator("#message-scroller").evaluate("box => { box.scrollTop = 0; }")
    await expect(jump).to_be_visible()
    await expect(newest).not_to_be_in_viewport()
    await jump.click()
    await expect(newest).to_be_in_viewport()
    assert await _uncovered(page, '#messages li[data-seq="36"] .message-body')
    await expect(jump).to_be_hidden()

    # Enter sends; Shift+Enter starts a new line.
    box = page.get_by_label("Your message")
    await box.fill("Good evening, everyone.")
    await box.press("Enter")
    sent = page.locator("#messages li[data-seq]", has_text="Good evening, everyone.")
    await expect(sent).to_have_count(1)
    await expect(box).to_have_value("")
    await box.type("Two things tonight:")
    await box.press("Shift+Enter")
    await box.type("her breathing, and her feeding.")
    await expect(box).to_have_value("Two things tonight:\nher breathing, and her feeding.")
    await box.press("Enter")
    await expect(page.locator("#messages li[data-seq] .message-body").last).to_have_text(
        "Two things tonight:\nher breathing, and her feeding."
    )
    await expect(newest.locator("xpath=following-sibling::li").last).to_be_in_viewport()

    # Those who prefer the button turn it off; the choice is kept in this browser.
    setting = page.get_by_label("Enter sends (Shift+Enter: new line)")
    await expect(setting).to_be_checked()
    await setting.uncheck()
    await page.reload()
    await expect(status).to_have_text("Connected")
    await expect(setting).not_to_be_checked()
    await box.type("With the button")
    await box.press("Enter")
    await box.type("this time.")
    await expect(box).to_have_value("With the button\nthis time.")
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(page.locator("#messages li[data-seq] .message-body").last).to_have_text("With the button\nthis time.")
    await expect(page.locator("#messages li.pending")).to_have_count(0)
    rows = await demo_db.fetch(
        "SELECT body FROM room_messages WHERE author_id = $1 AND seq > 36 ORDER BY seq", nadia_id
    )

    assert [row["body"] for row in rows] == [
        "Good evening, everyone.",
        "Two things tonight:\nher breathing, and her feeding.",
        "With the button\nthis time.",
    ]
    assert await serious_violations(page, axe_source) == []
    assert watched.errors == []
    await context.close()


# Two evenings in UTC: seq 1-3 on 24 November 22:30, seq 4-6 on 25 November 02:30-02:45.
TIMES = [
    "2026-11-24T22:30:05+00:00",
    "2026-11-24T22:30:40+00:00",
    "2026-11-24T22:31:10+00:00",
    "2026-11-25T02:30:00+00:00",
    "2026-11-25T02:45:00+00:00",
    "2026-11-25T02:45:30+00:00",
]


@WIDTHS
@pytest.mark.parametrize(
    ("time_zone", "days"),
    [("Europe/Paris", ["November 24", "November 25"]), ("America/Los_Angeles", ["November 24"])],
    ids=["paris", "los-angeles"],
)
async def test_messages_read_in_groups_under_days_of_the_readers_time_zone_with_avatars_and_badges(
    browser: Browser,
    site: list[WebProcess],
    demo_db: asyncpg.Connection,
    axe_source: str,
    viewport: ViewportSize,
    time_zone: str,
    days: list[str],
) -> None:
    web = site[1]
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    leader_id = await create_user(demo_db, "ngozi", display_name="Ngozi Okafor")
    await add_member(demo_db, community, leader_id, role="leader")
    leader = await create_session(demo_db, leader_id)
    _lucia_id, lucia = await _person(demo_db, "luciaf", "Lucía Fernández")
    _hana_id, hana = await _person(demo_db, "hana", "Dr Hana Sato", expert=True)
    await _say_all(
        web,
        [
            (leader, "Good evening, all."),
            (leader, "Do say how your day went."),
            (lucia, "Long day here."),
            (hana, "A short note on the new study."),
            (lucia, "Thank you, doctor."),
            (lucia, "It helps."),
        ],
    )
    for seq, when in enumerate(TIMES, start=1):
        await demo_db.execute(
            f"UPDATE room_messages SET created_at = $3 WHERE room_id = ({MAIN_ROOM}) AND seq = $2",
            CMS_SLUG,
            seq,
            datetime.fromisoformat(when),
        )
    context = await signed_in_context(browser, web, lucia, viewport=viewport, timezone_id=time_zone)
    watched = watch(context)
    page = await context.new_page()
    await page.goto(web.base_url + ROOM_PATH)
    await expect(page.locator("#live-status")).to_have_text("Connected")

    # Even under the cookie notice (not dismissed here), the room opens with its composer on screen.
    await expect(page.get_by_role("complementary", name="Cookies")).to_be_visible()
    await expect(page.get_by_label("Your message")).to_be_in_viewport()
    await expect(page.locator('#messages li[data-seq="6"]')).to_be_in_viewport()
    separators = page.locator("#messages li.day-separator")
    await expect(separators).to_have_count(len(days))
    for separator, day in zip(await separators.all(), days, strict=True):
        await expect(separator).to_contain_text(day)
    # One author within one minute is one group: only its first message shows the avatar and name.
    continued = await page.locator("#messages li.message").evaluate_all(
        "items => items.map(i => [+i.dataset.seq, i.classList.contains('continued')])"
    )
    assert continued == [[1, False], [2, True], [3, False], [4, False], [5, False], [6, True]]
    first = page.locator('#messages li[data-seq="1"]')
    await expect(first.locator(".avatar")).to_have_text("NO")
    await expect(first.locator(".avatar")).to_be_visible()
    await expect(first.locator(".badge")).to_have_text("Leader")
    await expect(page.locator('#messages li[data-seq="2"] .avatar')).to_be_hidden()
    await expect(page.locator('#messages li[data-seq="3"] .avatar')).to_have_text("LF")
    expert = page.locator('#messages li[data-seq="4"]')
    await expect(expert.locator(".avatar")).to_have_text("DH")
    await expect(expert.locator(".badge")).to_have_text("Expert")
    # No pictures from anywhere: avatars are letters.
    await expect(page.locator("#messages img")).to_have_count(0)

    # A live message carries its author's badge too.
    await _say_all(web, [(hana, "One more thing: ask about the dose.")])
    live = page.locator("#messages li", has_text="One more thing: ask about the dose.")
    await expect(live.locator(".badge")).to_have_text("Expert")
    await expect(live.locator(".avatar")).to_have_text("DH")
    await expect(page.locator("#messages li.day-separator").last).to_contain_text("Today")
    assert await serious_violations(page, axe_source) == []
    await page.screenshot(path=str(screenshot_path(f"live-room-groups-{time_zone.split('/')[1]}-{viewport['width']}")))
    assert watched.errors == []
    await context.close()

"""Accessibility and phone use in a real browser: axe-core on the main pages and forms, the live region,
keyboard-only forms with visible focus, no sideways scrolling at 375 px, and the cookie notice."""

from __future__ import annotations

import re

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from server import auth
from server.demo import CMS_CODES, CMS_SLUG
from tests.browser.axe import serious_violations
from tests.browser.conftest import Watched, horizontal_overflow, screenshot_path, signed_in_context, watch
from tests.factories import add_member, create_session, create_thread, create_user, csrf_from, load_catalogue
from tests.harness import ROOT, WebProcess
from tests.live_client import LiveClient

pytestmark = pytest.mark.browser

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 812}
ROOM = f"{CMS_SLUG}/main"

# An evening in the room, for the pages (and the README's screenshot) to show a real conversation.
CONVERSATION = [
    ("lucia", "Good evening. Is anyone up? Sofía had a hard day: her eyelids drooped by lunchtime."),
    ("amara", "I'm here, Lucía. Evenings were like that for us too. Did she manage to rest after school?"),
    ("lucia", "A little. Her neurologist wants to try a higher dose of 3,4-DAP next week."),
    ("amara", "Write down how she is at each time of day before the change. It helped our team a lot."),
]


async def _session(db: asyncpg.Connection, username: str) -> str:
    return await create_session(db, await db.fetchval("SELECT id FROM users WHERE username = $1", username))


async def _seed_conversation(db: asyncpg.Connection, web: WebProcess) -> None:
    sessions = {name: await _session(db, name) for name in ("lucia", "amara")}
    for username, text in CONVERSATION:
        client = await LiveClient.connect(web.ws_url, web.base_url, sessions[username])
        try:
            await client.join(ROOM)
            assert (await client.say(ROOM, text))["type"] == "ack"
        finally:
            await client.close()


class Audit:
    """Visit pages at phone and desktop widths; collect every problem so one page does not hide the next."""

    def __init__(self, axe_source: str) -> None:
        self.axe_source = axe_source
        self.problems: list[str] = []

    async def visit(
        self, pages: dict[int, Page], base_url: str, name: str, path: str, ready: str | None = None
    ) -> None:
        for width, page in pages.items():
            response = await page.goto(base_url + path)
            if response is None or response.status != 200:
                self.problems.append(f"{name}: answered {response.status if response else 'nothing'}")
                continue
            if ready is not None:
                await expect(page.locator(ready).first).to_be_visible()
            if width == PHONE["width"]:
                # axe reads the same DOM at both widths; the phone is where families read Kindred most.
                for violation in await serious_violations(page, self.axe_source):
                    self.problems.append(f"{name}: {violation}")
                if (overflow := await horizontal_overflow(page)) > 0:
                    self.problems.append(f"{name}: {overflow} px wider than a 375 px phone")
            await page.screenshot(path=str(screenshot_path(f"page-{name}-{width}")))

    def assert_none(self, *watched: Watched) -> None:
        for each in watched:
            self.problems += [f"browser: {error}" for error in each.errors]
            self.problems += [f"dialog: {dialog}" for dialog in each.dialogs]
        assert not self.problems, "\n".join(["problems found:", *self.problems])


async def _both_widths(context_for: dict[int, BrowserContext]) -> dict[int, Page]:
    return {width: await context.new_page() for width, context in context_for.items()}


async def test_pages_anyone_can_read_pass_axe_fit_a_phone_and_log_no_errors(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str
) -> None:
    web = site[0]
    await _seed_conversation(demo_db, web)
    # The live room as a visitor reads it once the community's leaders open it (rooms are members-only by default).
    await demo_db.execute("UPDATE communities SET rooms_open = true WHERE slug = $1", CMS_SLUG)
    contexts = {size["width"]: await browser.new_context(viewport=size) for size in (DESKTOP, PHONE)}
    watched = [watch(context) for context in contexts.values()]
    pages = await _both_widths(contexts)
    audit = Audit(axe_source)
    # The cookie notice is dismissed first so the screenshots show the pages themselves.
    for page in pages.values():
        await page.goto(web.base_url + "/")
        await page.get_by_role("button", name="OK, got it").click()
    for name, path, ready in [
        ("home", "/", None),
        ("home-search", "/?q=cms", None),
        ("community", f"/c/{CMS_SLUG}", None),
        ("forum", f"/c/{CMS_SLUG}/forum", None),
        ("introductions", f"/c/{CMS_SLUG}/introductions", None),
        ("live-room-reader", f"/c/{CMS_SLUG}/live", "#messages li"),
        ("faq", "/faq", None),
        ("login", "/login", None),
        ("register", "/register", None),
    ]:
        await audit.visit(pages, web.base_url, name, path, ready)

    # A form sent with mistakes comes back with its messages; it must be as accessible as the empty one.
    page = pages[PHONE["width"]]
    await page.goto(web.base_url + "/register")
    await page.get_by_label("Username").fill("x")
    await page.get_by_role("button", name="Create my account").click()
    await expect(page.locator(".form-error").first).to_be_visible()
    audit.problems += [f"register with an error: {v}" for v in await serious_violations(page, axe_source)]
    describedby = await page.get_by_label("Username").get_attribute("aria-describedby") or ""
    if "f-username-error" not in describedby.split():
        audit.problems.append("register with an error: the message is not tied to its field")
    error_page_status = "console: Failed to load resource: the server responded with a status of 400 (Bad Request)"
    for each in watched:
        each.errors = [error for error in each.errors if error != error_page_status]
    audit.assert_none(*watched)
    for context in contexts.values():
        await context.close()


async def test_member_and_leader_pages_and_every_main_form_pass_axe_fit_a_phone_and_log_no_errors(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str
) -> None:
    web = site[1]
    await _seed_conversation(demo_db, web)
    await load_catalogue(demo_db, set(CMS_CODES) | {"ORPHA:79414"})
    intro = await demo_db.fetchval("SELECT id FROM threads WHERE kind = 'introduction'")
    # A new member's reply waits in the review queue, so the queue is read with something in it.
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    newcomer = await create_user(demo_db, "noor", display_name="Noor")
    await add_member(demo_db, community, newcomer, approved_posts=0)
    await demo_db.execute(
        "INSERT INTO posts (thread_id, author_id, body_md, state) VALUES ($1, $2, 'We are new here too.', 'held')",
        intro,
        newcomer,
    )
    session = await _session(demo_db, "amara")
    contexts = {
        size["width"]: await signed_in_context(browser, web, session, viewport=size) for size in (DESKTOP, PHONE)
    }
    watched = [watch(context) for context in contexts.values()]
    pages = await _both_widths(contexts)
    audit = Audit(axe_source)
    for page in pages.values():
        await page.goto(web.base_url + "/")
        await page.get_by_role("button", name="OK, got it").click()
    for name, path, ready in [
        ("home-signed-in", "/", None),
        ("community-leader", f"/c/{CMS_SLUG}", None),
        ("thread", f"/c/{CMS_SLUG}/t/{intro}", None),
        ("live-room", f"/c/{CMS_SLUG}/live", "#live-status:text('Connected')"),
        ("room-list", f"/c/{CMS_SLUG}/rooms", "[data-room-list][data-live='1']"),
        ("new-thread-form", f"/c/{CMS_SLUG}/forum/new", None),
        ("introduction-form", f"/c/{CMS_SLUG}/introductions/new", None),
        ("ask-form", f"/c/{CMS_SLUG}/ask", None),
        ("questions", f"/c/{CMS_SLUG}/questions", None),
        ("tips", f"/c/{CMS_SLUG}/tips", None),
        ("resources", f"/c/{CMS_SLUG}/resources", None),
        ("resource-form", f"/c/{CMS_SLUG}/resources/new", None),
        ("section-form", f"/c/{CMS_SLUG}/sections/diagnostic_tests/edit", None),
        ("members", f"/c/{CMS_SLUG}/members", None),
        ("review-queue", f"/c/{CMS_SLUG}/review", ".review-item"),
        ("audit-log", f"/c/{CMS_SLUG}/audit", None),
        ("audit-log-filtered", f"/c/{CMS_SLUG}/audit?action=remove_message&since=2026-01-01", None),
        ("settings", "/settings", None),
        ("propose-community", "/communities/new", None),
        ("propose-find-in-catalogue", "/communities/new?find=DOK7", None),
        ("propose-from-catalogue", "/communities/new?code=ORPHA:79414", None),
        ("notifications", "/notifications", None),
        ("search", "/search?q=daughter", None),
        ("profile", "/u/lucia", None),
    ]:
        await audit.visit(pages, web.base_url, name, path, ready)
    audit.assert_none(*watched)
    for context in contexts.values():
        await context.close()


async def test_site_admin_pages_pass_axe_fit_a_phone_and_log_no_errors(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection, axe_source: str
) -> None:
    web = site[0]
    await demo_db.execute(
        "UPDATE users SET is_expert = true, expert_credential = 'Paediatric neurologist' WHERE username = 'amara'"
    )
    session = await _session(demo_db, "admin")
    contexts = {
        size["width"]: await signed_in_context(browser, web, session, viewport=size) for size in (DESKTOP, PHONE)
    }
    watched = [watch(context) for context in contexts.values()]
    pages = await _both_widths(contexts)
    audit = Audit(axe_source)
    for page in pages.values():
        await page.goto(web.base_url + "/")
        await page.get_by_role("button", name="OK, got it").click()
    for name, path, ready in [
        ("admin-experts", "/admin/experts", ".expert-list li"),
        ("admin-flags", "/admin/flags", None),
        ("admin-proposals", "/admin/proposals", None),
    ]:
        await audit.visit(pages, web.base_url, name, path, ready)
    audit.assert_none(*watched)
    for context in contexts.values():
        await context.close()


async def test_the_live_room_announces_new_messages_in_a_polite_live_region(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    first, second = site
    await _seed_conversation(demo_db, first)
    context = await signed_in_context(browser, first, await _session(demo_db, "lucia"), viewport=PHONE)
    watched = watch(context)
    page = await context.new_page()
    await page.goto(first.base_url + f"/c/{CMS_SLUG}/live")
    await page.get_by_role("button", name="OK, got it").click()
    await expect(page.locator("#live-status")).to_have_text("Connected")
    # The connection state is a status message; the message list is the polite live region.
    assert await page.locator("#live-status").get_attribute("role") == "status"
    region = page.locator("[aria-live=polite]#messages")
    await expect(region).to_have_attribute("aria-relevant", "additions")

    # A message from Amara on the other process lands inside that region (so it is read out).
    amara = await LiveClient.connect(second.ws_url, second.base_url, await _session(demo_db, "amara"))
    try:
        await amara.join(ROOM)
        await amara.say(ROOM, "Good evening, Lucía.")
    finally:
        await amara.close()
    arrived = page.locator("li", has_text="Good evening, Lucía.")
    await expect(arrived).to_have_count(1)
    assert await arrived.evaluate("item => item.closest('[aria-live]').id") == "messages"
    await page.get_by_label("Your message").fill("Thank you, Amara. Talk tomorrow.")
    await page.screenshot(path=str(screenshot_path("live-room-member-375")))
    # Typing notices change every few seconds: they must not be read out over the conversation.
    assert await page.locator("#typing").get_attribute("aria-live") == "off"
    assert watched.errors == [] and watched.dialogs == []
    await context.close()


async def _tab_to(page: Page, target: str, limit: int = 60) -> list[str]:
    """Press Tab until the element matching `target` has focus; returns what got focus on the way."""
    seen: list[str] = []
    for _ in range(limit):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            "() => { const e = document.activeElement; return (e.id || e.name || e.textContent.trim()).slice(0, 40) }"
        )
        seen.append(focused)
        if await page.evaluate("selector => document.activeElement.matches(selector)", target):
            return seen
    raise AssertionError(f"Tab never reached {target}; focus went through {seen}")


async def _focus_is_visible_and_unobscured(page: Page) -> str | None:
    """None when the focused element shows a focus ring and nothing (like the cookie notice) covers it."""
    problem: str | None = await page.evaluate(
        """() => {
      const e = document.activeElement;
      const style = getComputedStyle(e);
      const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== "none";
      if (!ring) return "no visible focus on " + e.outerHTML.slice(0, 80);
      // WCAG 2.4.11: the focused element may be partly covered, never entirely.
      const box = e.getBoundingClientRect();
      const points = [[0.5, 0.5], [0.1, 0.1], [0.9, 0.1], [0.1, 0.9], [0.9, 0.9]];
      let cover = null;
      for (const [x, y] of points) {
        const top = document.elementFromPoint(box.left + box.width * x, box.top + box.height * y);
        if (top && (top === e || e.contains(top))) return null;
        if (top) cover = top;
      }
      return "focused " + e.outerHTML.slice(0, 80) + " is entirely hidden (off screen or under "
        + (cover ? cover.outerHTML.slice(0, 60) : "nothing") + ")";
    }"""
    )
    return problem


async def test_a_newcomer_can_register_and_post_an_introduction_with_the_keyboard_alone(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    web = site[0]
    context = await browser.new_context(viewport=DESKTOP)
    watched = watch(context)
    page = await context.new_page()
    problems: list[str] = []

    async def check_focus(where: str) -> None:
        if (problem := await _focus_is_visible_and_unobscured(page)) is not None:
            problems.append(f"{where}: {problem}")

    # The cookie notice sits in the flow right after the skip link (a fixed bar would hide fields):
    # Tab reaches its privacy link, then its button.
    await page.goto(web.base_url + "/register")
    for _ in range(3):
        await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="OK, got it")).to_be_focused()
    await check_focus("cookie notice button")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("complementary", name="Cookies")).to_be_hidden()

    # The first Tab shows the skip link; Enter on it moves focus to the main content.
    await page.reload()
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    await check_focus("skip link")
    await page.keyboard.press("Enter")
    await expect(page.locator("main")).to_be_focused()

    # Fields in reading order, each one Tab away, then the button.
    for selector, text in [
        ("#f-username", "karim"),
        ("#f-display_name", "Karim"),
        ("#f-email", ""),
        ("#f-password", "slow mornings and brave kids"),
    ]:
        seen = await _tab_to(page, selector)
        if len(seen) != 1:
            problems.append(f"register: reaching {selector} took {seen}")
        await check_focus(f"register {selector}")
        await page.keyboard.type(text)
    await _tab_to(page, "button[type=submit]")
    await check_focus("register button")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Karim")).to_be_visible()

    # Joining the community is a button reached by Tab like any other.
    await page.goto(web.base_url + f"/c/{CMS_SLUG}")
    await _tab_to(page, "main form button[type=submit]")
    await expect(page.get_by_role("button", name="Join this community")).to_be_focused()
    await check_focus("join button")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_contain_text("You are now a member")

    # The guided introduction: a radio group, text fields and the button, all by keyboard.
    await page.goto(web.base_url + f"/c/{CMS_SLUG}/introductions/new")
    await _tab_to(page, "input[name=for_whom]")
    await check_focus("introduction radio")
    await page.keyboard.press("ArrowDown")  # arrows move within a radio group
    await expect(page.get_by_label("Someone I care for")).to_be_checked()
    await _tab_to(page, "#f-cares_for")
    await page.keyboard.type("my daughter")
    await _tab_to(page, "#f-free_text")
    await check_focus("introduction free text")
    await page.keyboard.type("Hello from Marseille.")
    await _tab_to(page, "main form button[type=submit]")
    await check_focus("introduction button")
    await page.keyboard.press("Enter")
    await expect(page.locator("#thread-posts")).to_contain_text("Hello from Marseille.")
    assert problems == []
    assert watched.errors == [] and watched.dialogs == []
    await context.close()


async def test_a_field_reached_with_tab_is_never_hidden_under_the_cookie_notice(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    web = site[0]
    context = await signed_in_context(browser, web, await _session(demo_db, "lucia"), viewport=DESKTOP)
    page = await context.new_page()
    hidden: list[str] = []
    for path in [f"/c/{CMS_SLUG}/introductions/new", f"/c/{CMS_SLUG}/forum/new", "/settings", "/communities/new"]:
        await page.goto(web.base_url + path)
        await expect(page.get_by_role("complementary", name="Cookies")).to_be_visible()
        # Every control of the page's main form, in Tab order, until its submit button.
        for _ in range(40):
            await page.keyboard.press("Tab")
            if (problem := await _focus_is_visible_and_unobscured(page)) is not None:
                hidden.append(f"{path}: {problem}")
            if await page.evaluate("document.activeElement.matches('main form button[type=submit]')"):
                break
    assert hidden == [], "\n".join(hidden)
    await context.close()


async def test_the_cookie_notice_stays_dismissed_after_a_reload_and_sets_no_cookie(
    browser: Browser, site: list[WebProcess]
) -> None:
    web = site[0]
    context = await browser.new_context(viewport=PHONE)
    watched = watch(context)
    page = await context.new_page()
    await page.goto(web.base_url + "/")
    notice = page.get_by_role("complementary", name="Cookies")
    await expect(notice).to_be_visible()
    cookies_before = sorted(cookie["name"] for cookie in await context.cookies())
    await notice.get_by_role("button", name="OK, got it").click()
    await expect(notice).to_be_hidden()
    await page.reload()
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await expect(notice).to_be_hidden()
    await page.goto(web.base_url + "/faq")
    await expect(notice).to_be_hidden()
    assert sorted(cookie["name"] for cookie in await context.cookies()) == cookies_before
    # Another browser (or one that cleared its storage) is told again.
    other = await browser.new_context(viewport=PHONE)
    other_page = await other.new_page()
    await other_page.goto(web.base_url + "/")
    await expect(other_page.get_by_role("complementary", name="Cookies")).to_be_visible()
    assert watched.errors == []
    await other.close()
    await context.close()


# Realistic text with no place to break a line: a shared document's address (its id is 44 characters
# long), a name written without spaces, a long run of a gene sequence.
LONG_URL = "https://docs.google.com/document/d/1aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdEFG/edit"
LONG_NAME = "MamaDeSofiaYLucasDesdeValparaisoChile"
LONG_WORD = "GATTACAGATTACAGATTACAGATTACAGATTACAGATTACA"


async def _sticking_out(page: Page) -> list[str]:
    """The innermost elements whose right edge passes the window's: where the sideways scroll comes from."""
    found: list[str] = await page.evaluate(
        """() => {
      const width = document.documentElement.clientWidth;
      const out = [...document.querySelectorAll("main *, header *")].filter(
        e => e.getBoundingClientRect().right > width + 1 || e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === "visible");
      return out.filter(e => !out.some(o => o !== e && e.contains(o)))
        .map(e => e.tagName.toLowerCase() + (e.className ? "." + String(e.className).split(" ").join(".") : "")
          + " “" + e.textContent.trim().slice(0, 30) + "”")
        .filter((v, i, all) => all.indexOf(v) === i).slice(0, 4);
    }"""
    )
    return found


async def test_long_addresses_and_names_never_make_a_page_scroll_sideways_on_a_phone(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    web = site[0]
    community = await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    writer = await create_user(demo_db, "marie", display_name=LONG_NAME)
    await add_member(demo_db, community, writer)
    thread = await create_thread(demo_db, community, writer, LONG_WORD, f"Our trial: {LONG_URL}")
    await demo_db.execute(
        "INSERT INTO posts (thread_id, author_id, body_md) VALUES ($1, $2, $3)", thread, writer, f"See {LONG_URL}"
    )
    await demo_db.execute(
        "INSERT INTO tips (community_id, author_id, name, description) VALUES ($1, $2, $3, $4)",
        community,
        writer,
        LONG_WORD,
        LONG_URL,
    )
    await demo_db.execute(
        "INSERT INTO resources (community_id, kind, title, description, url) VALUES ($1, 'clinical_trial', $2, $3, $4)",
        community,
        LONG_WORD,
        LONG_URL,
        LONG_URL,
    )
    marie = await create_session(demo_db, writer)
    client = await LiveClient.connect(web.ws_url, web.base_url, marie)
    try:
        await client.join(ROOM)
        await client.say(ROOM, f"The trial is here: {LONG_URL}")
    finally:
        await client.close()
    # Marie welcomes Lucía through the reply form: Lucía's notifications name her.
    intro = await demo_db.fetchval("SELECT id FROM threads WHERE kind = 'introduction'")
    async with httpx.AsyncClient(base_url=web.base_url, cookies={auth.SESSION_COOKIE: marie}) as http:
        token = csrf_from((await http.get("/settings")).text)
        reply = await http.post(f"/c/{CMS_SLUG}/t/{intro}/reply", data={"body": "Welcome!", "csrf_token": token})
        assert reply.status_code == 303

    context = await signed_in_context(browser, web, await _session(demo_db, "amara"), viewport=PHONE)
    watched = watch(context)
    page = await context.new_page()
    wide: list[str] = []
    for path in [
        f"/?q={LONG_WORD}",
        f"/c/{CMS_SLUG}",
        f"/c/{CMS_SLUG}/forum",
        f"/c/{CMS_SLUG}/t/{thread}",
        f"/c/{CMS_SLUG}/live",
        f"/c/{CMS_SLUG}/tips",
        f"/c/{CMS_SLUG}/resources",
        f"/c/{CMS_SLUG}/members",
        "/u/marie",
        "/search?q=trial",
    ]:
        await page.goto(web.base_url + path)
        if (overflow := await horizontal_overflow(page)) > 0:
            wide.append(f"{path}: {overflow} px too wide, from {await _sticking_out(page)}")
    lucia = await signed_in_context(browser, web, await _session(demo_db, "lucia"), viewport=PHONE)
    lucia_page = await lucia.new_page()
    await lucia_page.goto(web.base_url + "/notifications")
    await expect(lucia_page.locator("main")).to_contain_text(LONG_NAME)
    if (overflow := await horizontal_overflow(lucia_page)) > 0:
        wide.append(f"/notifications: {overflow} px too wide, from {await _sticking_out(lucia_page)}")
    assert wide == [], "\n".join(wide)
    assert watched.errors == []
    await lucia.close()
    await context.close()


def test_the_readme_screenshots_exist_have_alt_text_and_stay_small() -> None:
    readme = (ROOT / "README.md").read_text()
    images = re.findall(r"!\[([^\]]*)\]\((docs/screenshots/[^)]+)\)", readme)
    assert len(images) >= 2
    for alt, path in images:
        assert len(alt) > 20, path  # a description, not a file name
        data = (ROOT / path).read_bytes()
        assert data.startswith(b"\x89PNG"), path
        assert len(data) < 200_000, path

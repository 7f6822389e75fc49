"""Journey "hostile text": script-injection payloads everywhere members can write, read back in a real browser.

Each payload is posted by its own member (so rate limits stay out of the way) through the real forms over
HTTP, and one of them is also typed into every form in the browser; then the pages that show the text are
read in Chromium. Passing means: no dialog opened, the DOM holds nothing the text could have injected
(payloads.injections), and the reader sees the characters that were typed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import quote

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from server import auth
from server.demo import CMS_SLUG
from tests.browser.conftest import Watched, signed_in_context, watch
from tests.browser.payloads import PAYLOADS, Payload, injections, normalize, visible_text
from tests.factories import add_member, create_session, create_thread, create_user, csrf_from
from tests.harness import WebProcess
from tests.live_client import LiveClient

pytestmark = pytest.mark.browser

# Typed into the browser's forms by hand: breaks out of an attribute into a script.
TYPED = Payload("typed attribute breakout", '"><img src=x onerror=alert("typed")>')


@dataclass
class Writer:
    """A member who posts one payload, with a signed-in HTTP client on one of the processes."""

    username: str
    user_id: int
    session: str
    payload: Payload
    web: WebProcess
    http: httpx.AsyncClient
    csrf: str = ""

    async def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        response = await self.http.post(path, data={**data, "csrf_token": self.csrf})
        assert response.status_code == 303, (self.payload.kind, path, response.status_code, response.text[:500])
        return response


@asynccontextmanager
async def writers(db: asyncpg.Connection, site: list[WebProcess]) -> AsyncIterator[list[Writer]]:
    """One member of the CMS community per payload, alternating between the two processes."""
    community = await db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    made: list[Writer] = []
    try:
        for index, payload in enumerate(PAYLOADS, start=1):
            username = f"writer{index:02d}"
            user_id = await create_user(db, username, display_name=f"Writer {index}")
            await add_member(db, community, user_id)
            session = await create_session(db, user_id)
            web = site[index % len(site)]
            http = httpx.AsyncClient(base_url=web.base_url, cookies={auth.SESSION_COOKIE: session}, timeout=15)
            made.append(Writer(username, user_id, session, payload, web, http))
        await each(made, _fetch_csrf)
        yield made
    finally:
        for writer in made:
            await writer.http.aclose()


async def _fetch_csrf(writer: Writer) -> None:
    writer.csrf = csrf_from((await writer.http.get("/settings")).text)


async def each(items: list[Writer], action: Callable[[Writer], Awaitable[object]], at_once: int = 6) -> None:
    """Run action for every writer, a few at a time (the machine has two cores)."""
    gate = asyncio.Semaphore(at_once)

    async def one(writer: Writer) -> None:
        async with gate:
            await action(writer)

    await asyncio.gather(*(one(writer) for writer in items))


async def reader(
    browser: Browser, web: WebProcess, db: asyncpg.Connection, username: str
) -> tuple[BrowserContext, Watched, Page]:
    user_id = await db.fetchval("SELECT id FROM users WHERE username = $1", username)
    context = await signed_in_context(
        browser, web, await create_session(db, user_id), viewport={"width": 375, "height": 812}
    )
    watched = watch(context)
    return context, watched, await context.new_page()


class Findings:
    """Every problem on every page, reported together at the end (one failing page does not hide the next)."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    async def check(self, page: Page, expected: list[str], where: str = "main") -> None:
        """No injection in the DOM, and each expected text visible. (Sideways scrolling caused by long
        unbroken text is a layout matter, tested in test_accessibility with realistic text.)"""
        label = page.url
        for found in await injections(page):
            self.problems.append(f"{label}: {found}")
        text = await visible_text(page, where)
        for wanted in expected:
            if wanted not in text:
                self.problems.append(f"{label}: not shown as text: {wanted!r}")

    def assert_none(self) -> None:
        assert not self.problems, "\n".join(["problems found:", *self.problems])


async def _all_pages(page: Page, url: str) -> AsyncIterator[Page]:
    """Visit a paginated list, following its "next" links."""
    await page.goto(url)
    while True:
        yield page
        following = page.locator("a[rel=next]")
        if await following.count() == 0:
            return
        await page.goto(page.url.split("?")[0] + (await following.get_attribute("href") or ""))


async def test_payloads_in_thread_titles_posts_and_replies_are_shown_as_text_and_never_run(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    first, _second = site
    lucia_id = await demo_db.fetchval("SELECT id FROM users WHERE username = 'lucia'")
    target = await create_thread(
        demo_db,
        await demo_db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG),
        lucia_id,
        "Tell us anything",
    )
    findings = Findings()
    async with writers(demo_db, site) as members:

        async def write(writer: Writer) -> None:
            text = writer.payload.text
            await writer.post(f"/c/{CMS_SLUG}/forum/new", {"title": text, "body": text})
            await writer.post(f"/c/{CMS_SLUG}/t/{target}/reply", {"body": text})

        await each(members, write)

    context, watched, page = await reader(browser, first, demo_db, "lucia")
    # One payload typed by hand into the new-thread form and the reply form.
    await page.goto(first.base_url + f"/c/{CMS_SLUG}/forum/new")
    await page.get_by_label("Title").fill(TYPED.text)
    await page.get_by_label("Your message").fill(TYPED.text)
    await page.get_by_role("button", name="Start the thread").click()
    await expect(page).to_have_url(re.compile(r"/t/\d+$"))
    await findings.check(page, [TYPED.shown(), TYPED.shown(markdown=True)])
    assert await page.title() == f"{TYPED.text} · Kindred"
    await page.get_by_label("Your reply").fill(TYPED.text)
    await page.get_by_role("button", name="Send reply").click()
    await expect(page.locator("#thread-posts article.post")).to_have_count(2)
    await findings.check(page, [TYPED.shown(markdown=True)])

    # Every thread page: the title (also in <title>) as text, the first post through Markdown.
    rows = await demo_db.fetch("SELECT id, title FROM threads WHERE title <> 'Tell us anything' ORDER BY id")
    by_title = {normalize(row["title"]): row["id"] for row in rows}
    for payload in PAYLOADS:
        thread_id = by_title[payload.shown()]
        await page.goto(first.base_url + f"/c/{CMS_SLUG}/t/{thread_id}")
        await findings.check(page, [payload.shown(), payload.shown(markdown=True)])
        if normalize(await page.title()) != f"{payload.shown()} · Kindred":
            findings.problems.append(f"{page.url}: document title is {await page.title()!r}")

    # The thread with every payload as a reply, and the forum lists with every title.
    await page.goto(first.base_url + f"/c/{CMS_SLUG}/t/{target}")
    await findings.check(page, [payload.shown(markdown=True) for payload in PAYLOADS])
    listed = ""
    async for listing in _all_pages(page, first.base_url + f"/c/{CMS_SLUG}/forum"):
        await findings.check(listing, [])
        listed += " " + await visible_text(listing)
    findings.problems += [f"forum list: title not shown: {p.shown()!r}" for p in PAYLOADS if p.shown() not in listed]

    # Lucía was told about every reply: her notifications name the thread and the writers.
    await page.goto(first.base_url + "/notifications")
    await findings.check(page, ["Tell us anything"])
    # Search shows highlighted snippets of the same text.
    await page.goto(first.base_url + "/search?q=" + quote("alert"))
    await findings.check(page, [])
    await expect(page.locator(".search-result").first).to_be_visible()

    findings.assert_none()
    assert watched.dialogs == []
    assert watched.errors == []
    await context.close()


async def test_payloads_as_display_names_and_bios_are_shown_as_text_wherever_names_appear(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    first, second = site
    findings = Findings()
    room = f"{CMS_SLUG}/main"
    intro = await demo_db.fetchval("SELECT id FROM threads WHERE kind = 'introduction'")
    # Lucía's room is open before anyone arrives: names come to her through the live client's script.
    context, watched, page = await reader(browser, first, demo_db, "lucia")
    await page.goto(first.base_url + f"/c/{CMS_SLUG}/live")
    await expect(page.locator("#live-status")).to_have_text("Connected")

    async with writers(demo_db, site) as members:

        async def rename_and_talk(writer: Writer) -> None:
            text = writer.payload.text
            await writer.post("/settings/profile", {"display_name": text, "bio": text})
            await writer.post(f"/c/{CMS_SLUG}/t/{intro}/reply", {"body": f"Welcome from {writer.username}"})
            client = await LiveClient.connect(writer.web.ws_url, writer.web.base_url, writer.session)
            try:
                assert (await client.join(room))["type"] == "joined"
                assert (await client.say(room, f"Hello from {writer.username}"))["type"] == "ack"
                await client.send({"type": "typing", "room": room})
            finally:
                await client.close()

        await each(members, rename_and_talk)
        names = [writer.payload.shown() for writer in members]
        usernames = [writer.username for writer in members]

    # The live room: names arrived through live.js (textContent), then again from the server's history.
    await expect(page.locator("#messages li[data-seq]")).to_have_count(len(PAYLOADS))
    await findings.check(page, names)
    await page.reload()
    await expect(page.locator("#live-status")).to_have_text("Connected")
    await findings.check(page, names)

    # One name typed into the settings form by hand, shown back in the form and in the header.
    await page.goto(first.base_url + "/settings")
    await page.get_by_label("Display name").fill(TYPED.text)
    await page.get_by_label("Short bio").fill(TYPED.text)
    await page.get_by_role("button", name="Save profile").click()
    await expect(page.get_by_role("status")).to_have_text("Your profile has been saved.")
    await expect(page.get_by_label("Display name")).to_have_value(TYPED.text)
    if await page.get_by_role("button", name="Menu").is_visible():
        await page.get_by_role("button", name="Menu").click()  # on a phone the header's name is in its menu
    await findings.check(page, [TYPED.shown()], where="body")

    # Post headers, profiles, the leader's members page and Lucía's notifications ("X replied").
    await page.goto(first.base_url + f"/c/{CMS_SLUG}/t/{intro}")
    await findings.check(page, names)
    for username, name in zip(usernames, names, strict=True):
        await page.goto(first.base_url + f"/u/{username}")
        await findings.check(page, [name])
    await page.goto(first.base_url + "/notifications")
    await findings.check(page, [])
    amara, amara_watched, amara_page = await reader(browser, second, demo_db, "amara")
    await amara_page.goto(second.base_url + f"/c/{CMS_SLUG}/members")
    await findings.check(amara_page, names)

    findings.assert_none()
    assert watched.dialogs == [] and amara_watched.dialogs == []
    assert watched.errors == [] and amara_watched.errors == []
    await amara.close()
    await context.close()


async def test_payloads_in_tips_resources_and_chat_are_shown_as_text_and_resource_links_must_be_web_links(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    first, second = site
    findings = Findings()
    room = f"{CMS_SLUG}/main"
    context, watched, page = await reader(browser, first, demo_db, "lucia")
    await page.goto(first.base_url + f"/c/{CMS_SLUG}/live")
    await expect(page.locator("#live-status")).to_have_text("Connected")

    async with writers(demo_db, site) as members:

        async def share(writer: Writer) -> None:
            text = writer.payload.text
            await writer.post(f"/c/{CMS_SLUG}/tips", {"name": text, "description": text})
            client = await LiveClient.connect(writer.web.ws_url, writer.web.base_url, writer.session)
            try:
                assert (await client.join(room))["type"] == "joined"
                assert (await client.say(room, text))["type"] == "ack"
            finally:
                await client.close()

        await each(members, share)

    # Chat: every payload arrived live (textContent in live.js), and again from the server's history.
    await expect(page.locator("#messages li[data-seq]")).to_have_count(len(PAYLOADS))
    await findings.check(page, [payload.shown() for payload in PAYLOADS])
    await page.get_by_label("Your message").fill(TYPED.text)
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#messages li[data-seq]:not(.pending)")).to_have_count(len(PAYLOADS) + 1)
    await page.reload()
    await expect(page.locator("#live-status")).to_have_text("Connected")
    await findings.check(page, [payload.shown() for payload in [*PAYLOADS, TYPED]])

    # Tips: the name as text, the description through Markdown; one typed by hand.
    await page.goto(first.base_url + f"/c/{CMS_SLUG}/tips")
    await page.get_by_label("Your tip in a few words").fill(TYPED.text)
    await page.get_by_label("Describe it").fill(TYPED.text)
    await page.get_by_role("button", name="Share my tip").click()
    await expect(page.get_by_role("status")).to_be_visible()
    expected = [text for payload in [*PAYLOADS, TYPED] for text in (payload.shown(), payload.shown(markdown=True))]
    await findings.check(page, expected)
    await page.goto(first.base_url + f"/c/{CMS_SLUG}")
    await findings.check(page, [])

    # Resources (leaders only): a javascript: link is refused with the typed values kept; the title is
    # shown as text, the description through Markdown (as a tip's: chat quoted into a resource links back).
    amara, amara_watched, amara_page = await reader(browser, second, demo_db, "amara")
    await amara_page.goto(second.base_url + f"/c/{CMS_SLUG}/resources/new")
    for bad_link in [
        "javascript:alert(document.cookie)",
        " JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/",
    ]:
        await amara_page.get_by_label("Title").fill(TYPED.text)
        await amara_page.get_by_label("Link").fill(bad_link)
        await amara_page.get_by_label("Description").fill(TYPED.text)
        await amara_page.get_by_role("button", name="Add the resource").click()
        await expect(amara_page.locator("#f-url-error")).to_have_text(
            "Please give a web link starting with https:// or http://."
        )
        await expect(amara_page.get_by_label("Title")).to_have_value(TYPED.text)
        await expect(amara_page.get_by_label("Description")).to_have_value(TYPED.text)
        await findings.check(amara_page, [])
    assert await demo_db.fetchval("SELECT count(*) FROM resources WHERE title = $1", TYPED.text) == 0
    await amara_page.get_by_label("Link").fill("https://example.org/typed")
    await amara_page.get_by_role("button", name="Add the resource").click()
    await expect(amara_page).to_have_url(re.compile(rf"/c/{CMS_SLUG}/resources"))
    amara_id = await demo_db.fetchval("SELECT id FROM users WHERE username = 'amara'")
    amara_session = await create_session(demo_db, amara_id)
    async with httpx.AsyncClient(base_url=second.base_url, cookies={auth.SESSION_COOKIE: amara_session}) as http:
        token = csrf_from((await http.get("/settings")).text)
        for index, payload in enumerate(PAYLOADS):
            response = await http.post(
                f"/c/{CMS_SLUG}/resources/new",
                data={
                    "csrf_token": token,
                    "kind": "other",
                    "title": payload.text,
                    "url": f"https://example.org/{index}",
                    "description": payload.text,
                },
            )
            assert response.status_code == 303, (payload.kind, response.text[:300])
    await amara_page.goto(second.base_url + f"/c/{CMS_SLUG}/resources")
    await findings.check(amara_page, expected)
    await page.goto(first.base_url + f"/c/{CMS_SLUG}/resources")
    await findings.check(page, expected)

    findings.assert_none()
    assert watched.dialogs == [] and amara_watched.dialogs == []
    refused = "console: Failed to load resource: the server responded with a status of 400 (Bad Request)"
    assert watched.errors == [] and [e for e in amara_watched.errors if e != refused] == []
    await amara.close()
    await context.close()


async def test_payloads_in_search_boxes_and_addresses_are_reflected_as_text(
    browser: Browser, site: list[WebProcess], demo_db: asyncpg.Connection
) -> None:
    first, _second = site
    findings = Findings()
    context, watched, page = await reader(browser, first, demo_db, "lucia")
    for payload in [*PAYLOADS, TYPED]:
        query = quote(payload.text, safe="")
        await page.goto(first.base_url + f"/?q={query}")
        await findings.check(page, [payload.shown()])
        if (
            await page.get_by_label(
                "Search by condition name, another name, gene, symptom or ORPHA/OMIM code"
            ).input_value()
            != payload.text
        ):
            findings.problems.append(f"{page.url}: the search box does not hold the query")
        await page.goto(first.base_url + f"/search?q={query}&community={CMS_SLUG}")
        await findings.check(page, [])
        if await page.get_by_label("Words to find").input_value() != payload.text:
            findings.problems.append(f"{page.url}: the search box does not hold the query")
        # Unknown communities, threads and profiles named by the payload: the error pages reflect nothing.
        # (A sample of the payloads: every error page comes from the same template.)
        if payload not in PAYLOADS[::4] and payload is not TYPED:
            continue
        for path in [
            f"/search?q=x&community={query}",
            f"/c/{query}",
            f"/u/{query}",
            f"/c/{CMS_SLUG}/t/1?after={query}",
        ]:
            response = await page.goto(first.base_url + path)
            assert response is not None
            if response.status not in {200, 400, 404}:
                findings.problems.append(f"{page.url}: answered {response.status}")
            await findings.check(page, [], where="body")
    findings.assert_none()
    assert watched.dialogs == []
    # Unknown names are answered 404 and bad page links 400, which Chromium logs; nothing else may appear.
    answered = re.compile(r"^console: Failed to load resource: the server responded with a status of (400|404)")
    assert [error for error in watched.errors if not answered.match(error)] == []
    await context.close()


CLEAN_PAGE = """<!doctype html><html><head><title>t</title><link rel="stylesheet" href="/static/css/site.css">
<script src="/static/js/site.js" defer></script></head><body><main><p>Hello <a href="/c/x">x</a>
<a href="https://example.org" rel="nofollow ugc noopener">y</a> <a href="mailto:a@example.org">z</a></p>
<form method="post" action="/x"><button formaction="/y">go</button></form></main></body></html>"""

LEFTOVERS = [
    "<script>1</script>",
    '<script src="https://evil.example/x.js"></script>',
    '<script src="/static/js/../../evil.js"></script>',
    '<img src="x.png">',
    '<b onclick="1">b</b>',
    "<svg></svg>",
    "<math></math>",
    '<iframe src="about:blank"></iframe>',
    "<object></object>",
    '<embed src="/x">',
    '<a href="javascript:void(0)">a</a>',
    '<a href=" JaVaScRiPt:void(0)">a</a>',
    '<a href="data:text/html,x">a</a>',
    '<a href="vbscript:x">a</a>',
    '<form action="https://evil.example/"></form>',
    '<button formaction="javascript:void(0)">b</button>',
    '<p style="color:red">p</p>',
    "<style>p{}</style>",
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="60">',
]


async def test_the_injection_check_finds_everything_an_injection_could_leave_behind(browser: Browser) -> None:
    """The DOM check above must be able to fail: a clean page passes, each leftover is found."""
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    served = {"body": CLEAN_PAGE}
    await page.route(
        "http://kindred.test/**", lambda route: route.fulfill(body=served["body"], content_type="text/html")
    )
    await page.goto("http://kindred.test/")
    assert await injections(page) == []
    missed = []
    for leftover in LEFTOVERS:
        served["body"] = CLEAN_PAGE.replace("<p>Hello", leftover + "<p>Hello")
        await page.goto("http://kindred.test/")
        if not await injections(page):
            missed.append(leftover)
    assert missed == []
    await context.close()

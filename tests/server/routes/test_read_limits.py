"""Read limits against scraping: pages, the API and live-room joins, per session and per address, across processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from server import auth
from server.settings import Settings
from tests.factories import add_member, create_community, create_session, create_thread, create_user
from tests.harness import LiveServer, live_server, web_processes
from tests.live_client import LiveClient

ROOM = "test-condition/main"
WINDOW = 60


def _small(settings: Settings, per_session: int, per_ip: int) -> Settings:
    return settings.with_overrides(read_limit_session=per_session, read_limit_ip=per_ip, read_limit_window=WINDOW)


@pytest.fixture
async def community(db: asyncpg.Connection) -> int:
    return await create_community(db)


async def _session(db: asyncpg.Connection, username: str, community: int) -> str:
    user_id = await create_user(db, username)
    await add_member(db, community, user_id)
    return await create_session(db, user_id)


def _http(base_url: str, session: str | None = None, **headers: str) -> httpx.AsyncClient:
    cookies = {auth.SESSION_COOKIE: session} if session else None
    return httpx.AsyncClient(base_url=base_url, cookies=cookies, headers=headers, timeout=10)


def _assert_retry_after(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= WINDOW


@pytest.fixture
async def session_limited(settings: Settings) -> AsyncIterator[LiveServer]:
    async with live_server(_small(settings, per_session=4, per_ip=50)) as running:
        yield running


@pytest.fixture
async def address_limited(settings: Settings) -> AsyncIterator[LiveServer]:
    async with live_server(_small(settings, per_session=50, per_ip=4)) as running:
        yield running


async def test_a_session_past_its_read_limit_gets_a_429_page_with_retry_after(
    session_limited: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    session = await _session(db, "lucia", community)
    async with _http(session_limited.base_url, session) as lucia:
        for path in ["/", "/c/test-condition", "/c/test-condition/forum", "/faq"]:
            assert (await lucia.get(path)).status_code == 200
        refused = await lucia.get("/c/test-condition/forum")
        _assert_retry_after(refused)
        assert "text/html" in refused.headers["content-type"]
        assert "Please slow down a little" in refused.text and "try again" in refused.text
    # The limit is this session's: another member, and an anonymous reader, on the same address still read.
    async with _http(session_limited.base_url, await _session(db, "amara", community)) as amara:
        assert (await amara.get("/c/test-condition/forum")).status_code == 200
    async with _http(session_limited.base_url) as anonymous:
        assert (await anonymous.get("/c/test-condition")).status_code == 200


async def test_the_refusal_page_is_in_the_readers_language(
    session_limited: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    async with _http(
        session_limited.base_url, await _session(db, "lucia", community), **{"Accept-Language": "fr"}
    ) as lucia:
        for _ in range(4):
            await lucia.get("/")
        refused = await lucia.get("/")
    _assert_retry_after(refused)
    assert 'lang="fr"' in refused.text
    assert "Merci de ralentir un peu" in refused.text and "secondes" in refused.text


async def test_the_api_past_the_address_limit_answers_rate_limited_json(address_limited: LiveServer) -> None:
    async with _http(address_limited.base_url) as anonymous:
        for _ in range(4):
            assert (await anonymous.get("/api/v1/communities")).status_code == 200
        refused = await anonymous.get("/api/v1/communities")
        _assert_retry_after(refused)
        body = refused.json()
        assert body["error"] == "rate_limited" and "try again" in body["message"]
        # Pages share the address's allowance.
        _assert_retry_after(await anonymous.get("/"))


async def test_every_api_read_documents_the_read_limits_429_and_a_refused_read_matches_it(
    address_limited: LiveServer,
) -> None:
    async with _http(address_limited.base_url) as anonymous:
        document = (await anonymous.get("/api/v1/openapi.json")).json()
        for _ in range(3):
            assert (await anonymous.get("/api/v1/communities")).status_code == 200
        refused = await anonymous.get("/api/v1/communities")
    _assert_retry_after(refused)
    reads = [(path, item["get"]) for path, item in document["paths"].items() if "get" in item]
    assert len(reads) > 10
    # A client generated from the document (or Schemathesis) must expect the 429 on every read.
    undocumented = [path for path, operation in reads if "429" not in operation["responses"]]
    assert not undocumented, f"reads without the read limit's 429: {undocumented}"
    documented = document["paths"]["/api/v1/communities"]["get"]["responses"]["429"]
    assert documented["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ApiError"}
    assert "Retry-After" in documented["headers"]
    assert refused.headers["content-type"].startswith("application/json")
    assert set(refused.json()) == set(document["components"]["schemas"]["ApiError"]["required"])


async def test_the_address_limit_bounds_every_session_on_it(
    address_limited: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    for number in range(4):
        async with _http(address_limited.base_url, await _session(db, f"reader{number}", community)) as reader:
            assert (await reader.get("/c/test-condition")).status_code == 200
    async with _http(address_limited.base_url, await _session(db, "rotated", community)) as rotated:
        _assert_retry_after(await rotated.get("/c/test-condition"))


async def test_static_files_probes_robots_and_forms_do_not_count(address_limited: LiveServer) -> None:
    async with _http(address_limited.base_url) as anonymous:
        for _ in range(10):
            assert (await anonymous.get("/static/css/site.css")).status_code == 200
            assert (await anonymous.get("/healthz")).status_code == 200
            assert (await anonymous.get("/metrics")).status_code == 200
            assert (await anonymous.get("/robots.txt")).status_code == 200
            assert (await anonymous.post("/login", data={})).status_code != 429
        for _ in range(4):
            assert (await anonymous.get("/")).status_code == 200
        _assert_retry_after(await anonymous.get("/"))


async def test_a_join_past_the_limit_gets_a_rate_limited_error_frame_and_upgrades_do_not_count(
    address_limited: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    session = await _session(db, "lucia", community)
    # Upgrades are free: more sockets than the allowance open, and the first joins still work.
    sockets = [await LiveClient.connect(address_limited.ws_url, address_limited.base_url, session) for _ in range(6)]
    try:
        for client in sockets[:4]:
            assert (await client.join(ROOM))["type"] == "joined"
        refused = await sockets[4].join(ROOM, since=0)
        assert refused["type"] == "error" and refused["code"] == "rate_limited" and refused["ref"] == ROOM
        assert "try again" in refused["message"]
        # The connection stays open.
        await sockets[4].send({"type": "ping"})
        await sockets[4].wait_for(lambda frame: frame["type"] == "pong")
    finally:
        for client in sockets:
            await client.close()
    # A join and a page share one allowance.
    async with _http(address_limited.base_url, session) as lucia:
        _assert_retry_after(await lucia.get("/"))


async def test_a_person_reading_normally_never_meets_the_limit(
    server: LiveServer, db: asyncpg.Connection, community: int
) -> None:
    """The default limits: 50 pages in a row, each with its assets, a live room and its resumes."""
    author = await create_user(db, "author")
    threads = [await create_thread(db, community, author, f"Thread {n}") for n in range(10)]
    session = await _session(db, "lucia", community)
    pages = ["/", "/c/test-condition", "/c/test-condition/forum", "/notifications", "/c/test-condition/introductions"]
    pages += [f"/c/test-condition/t/{thread}" for thread in threads]
    async with _http(server.base_url, session) as lucia:
        for view in range(50):
            page = await lucia.get(pages[view % len(pages)])
            assert page.status_code == 200, (view, page.status_code)
            for asset in ["/static/css/site.css", "/static/js/site.js", "/static/js/notify.js"]:
                assert (await lucia.get(asset)).status_code == 200
            assert (await lucia.get("/api/v1/session")).status_code == 200
    live = await LiveClient.connect(server.ws_url, server.base_url, session)
    try:
        for _resume in range(10):  # a flaky phone reconnecting and resuming
            assert (await live.join(ROOM, since=0))["type"] in {"joined", "resync"}
    finally:
        await live.close()


@pytest.mark.slow
async def test_the_limit_holds_across_processes_sharing_one_redis(
    settings: Settings, db: asyncpg.Connection, community: int, tmp_path: Path
) -> None:
    session = await _session(db, "lucia", community)
    limits = {"KINDRED_READ_LIMIT_SESSION": "6", "KINDRED_READ_LIMIT_IP": "100", "KINDRED_READ_LIMIT_WINDOW": "60"}
    with web_processes(settings, tmp_path, extra_env=limits) as (first, second):
        async with _http(first.base_url, session) as on_first, _http(second.base_url, session) as on_second:
            for _ in range(3):
                assert (await on_first.get("/c/test-condition")).status_code == 200
                assert (await on_second.get("/c/test-condition")).status_code == 200
            # Six reads in all, three on each process: the seventh is refused wherever it lands.
            _assert_retry_after(await on_first.get("/c/test-condition"))
            _assert_retry_after(await on_second.get("/api/v1/session"))

"""A burst of concurrent work opens at most the configured number of Redis connections per process."""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit

import asyncpg
import httpx
import psutil  # type: ignore[import-untyped]

from server.settings import Settings
from tests.factories import create_cast, create_session
from tests.harness import Services, live_server
from tests.live_client import LiveClient

ROOM = "test-condition/main"


def redis_connections(port: int) -> int:
    """This process's established TCP connections to Redis (the test server runs in it)."""
    return sum(
        1
        for conn in psutil.Process(os.getpid()).net_connections(kind="tcp")
        if conn.raddr and conn.raddr.port == port and conn.status == psutil.CONN_ESTABLISHED
    )


async def test_a_burst_of_reads_and_sockets_leaving_stays_within_the_redis_pool(
    settings: Settings, services: Services, db: asyncpg.Connection
) -> None:
    # The soak (bench/soak.py) found each process keeping ~60 Redis connections after 60 members left
    # at once: every concurrent presence update or read count had opened one more, kept for good.
    port = urlsplit(services.redis_url).port
    assert port is not None
    cast = await create_cast(db)
    async with live_server(settings.with_overrides(redis_pool_max=4)) as server:
        async with httpx.AsyncClient(base_url=server.base_url, limits=httpx.Limits(max_connections=200)) as http:
            assert (await http.get("/healthz")).status_code == 200
            before = redis_connections(port)
            pages = await asyncio.gather(*(http.get("/c/test-condition") for _ in range(60)))
        assert {page.status_code for page in pages} == {200}
        session = await create_session(db, cast["member"])
        clients = await asyncio.gather(
            *(LiveClient.connect(server.ws_url, server.base_url, session) for _ in range(30))
        )
        joined = await asyncio.gather(*(client.join(ROOM) for client in clients))
        assert {frame["type"] for frame in joined} == {"joined"}
        await asyncio.gather(*(client.close() for client in clients))
        # The command pool (4) and the broker's publishing pool (4) may each be full now; nothing beyond.
        assert redis_connections(port) - before <= 8

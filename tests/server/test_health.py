"""GET /healthz names the state of the database and of Redis, and answers 503 when either is down."""

from __future__ import annotations

import asyncpg
import httpx

from server.embedded import EmbeddedRedis
from server.settings import Settings
from tests.harness import live_server


async def test_healthz_reports_both_services_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


async def test_healthz_is_503_while_redis_is_stopped_and_recovers(
    settings: Settings, private_redis: EmbeddedRedis
) -> None:
    async with (
        live_server(settings.with_overrides(redis_url=private_redis.url)) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=10) as http,
    ):
        assert (await http.get("/healthz")).status_code == 200

        private_redis.stop()
        response = await http.get("/healthz")
        assert response.status_code == 503
        assert response.json() == {"status": "degraded", "database": "ok", "redis": "unreachable"}

        private_redis.start()  # same port, same data folder
        assert (await http.get("/healthz")).status_code == 200


async def test_healthz_is_503_when_the_database_refuses_connections(settings: Settings, database_url: str) -> None:
    async with live_server(settings) as server, httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        assert (await http.get("/healthz")).status_code == 200
        name = database_url.rsplit("/", 1)[1]
        admin = await asyncpg.connect(database_url.rsplit("/", 1)[0] + "/postgres")
        try:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
            response = await http.get("/healthz")
            assert response.status_code == 503
            assert response.json()["database"] == "unreachable"
            assert response.json()["redis"] == "ok"
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            await admin.close()
        assert (await http.get("/healthz")).status_code == 200

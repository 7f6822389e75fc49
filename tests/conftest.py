"""Fixtures: private Postgres and Redis for the run, a fresh database and Redis prefix per test."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from server.db import migrate
from server.embedded import EmbeddedRedis, EmbeddedServices, free_port
from server.settings import Settings
from tests.harness import (
    LiveServer,
    Services,
    create_database_from_template,
    drop_database,
    live_server,
    unique_name,
    with_database,
)
from tests.redis_cluster import LocalCluster, require_redis_7


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """The suite's own Postgres and Redis: TEST_DATABASE_URL/TEST_REDIS_URL, else private ones in a temp folder."""
    database_url = os.environ.get("TEST_DATABASE_URL")
    redis_url = os.environ.get("TEST_REDIS_URL")
    embedded = None
    if not database_url or not redis_url:
        embedded = EmbeddedServices(tmp_path_factory.mktemp("kindred-test-data"))
        embedded.start(need_postgres=not database_url, need_redis=not redis_url)
        database_url = database_url or (embedded.postgres.url if embedded.postgres else "")
        redis_url = redis_url or (embedded.redis.url if embedded.redis else "")
    result = Services(database_url=database_url, redis_url=redis_url, template_database=unique_name("kindred_template"))

    async def make_template() -> None:
        connection = await asyncpg.connect(database_url)
        try:
            await connection.execute(f'CREATE DATABASE "{result.template_database}"')
        finally:
            await connection.close()

    asyncio.run(make_template())
    migrate.upgrade(with_database(database_url, result.template_database))
    try:
        yield result
    finally:
        asyncio.run(drop_database(database_url, result.template_database))
        if embedded is not None:
            embedded.stop()


@pytest.fixture
async def database_url(services: Services) -> AsyncIterator[str]:
    """A fresh, migrated database for this test alone (a copy of the migrated template)."""
    name = unique_name("kindred_test")
    await create_database_from_template(services.database_url, name, services.template_database)
    try:
        yield with_database(services.database_url, name)
    finally:
        await drop_database(services.database_url, name)


@pytest.fixture
async def redis_prefix(services: Services) -> AsyncIterator[str]:
    """A key and channel prefix for this test alone; its keys are deleted afterwards."""
    prefix = unique_name("t") + ":"
    yield prefix
    client = aioredis.Redis.from_url(services.redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
    except Exception:
        pass
    finally:
        await client.aclose()


@pytest.fixture
def settings(services: Services, database_url: str, redis_prefix: str) -> Settings:
    port = free_port()
    return Settings(
        environment="test",
        host="127.0.0.1",
        port=port,
        database_url=database_url,
        redis_url=services.redis_url,
        redis_prefix=redis_prefix,
        data_dir=Path("unused"),
        site_origin=f"http://127.0.0.1:{port}",
        load_demo_data=False,
        db_pool_min=1,
        db_pool_max=5,
    )


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to this test's database, with the app's codecs."""
    from server.db.pool import connect

    connection = await connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    """The app served by a real uvicorn on a loopback port, in this test's event loop."""
    async with live_server(settings) as running:
        yield running


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the live server over real TCP."""
    async with httpx.AsyncClient(base_url=server.base_url, follow_redirects=False, timeout=10) as http:
        yield http


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis of this test alone, which the test may stop, empty and start again on the same port."""
    redis = EmbeddedRedis(tmp_path / "redis")
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def redis_cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    """A Redis Cluster of this test alone: 3 masters with a replica each (Debian's redis-server 7)."""
    require_redis_7()
    cluster = LocalCluster(tmp_path / "cluster")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()

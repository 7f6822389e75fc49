"""Fixtures for the real-time layer: simulated server processes (broker + hub + presence) and a private Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from channels.broker import Broker
from channels.connection import DEFAULT_MAX_QUEUE, Connection
from channels.hub import Hub, Receiver
from channels.presence import Presence
from channels.protocol import CloseCode
from channels.redis_client import RedisClient, command_client
from server.embedded import EmbeddedRedis
from tests.channels.fakes import RecordingSocket
from tests.harness import Services


class Process:
    """What one server process has: a broker, a hub, presence, and its clients' connections."""

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        presence: dict[str, float],
        receive: Receiver | None = None,
        *,
        cluster: bool = False,
        **broker_options: object,
    ) -> None:
        self.broker = Broker(redis_url, prefix, cluster=cluster, min_backoff=0.02, max_backoff=0.2, **broker_options)  # type: ignore[arg-type]
        self.hub = Hub(self.broker, receive=receive)
        self.redis: RedisClient = (
            command_client(redis_url, cluster=True, connect_timeout=1)
            if cluster
            else aioredis.Redis.from_url(redis_url, socket_connect_timeout=1)
        )
        self.presence = Presence(self.redis, prefix, self.hub.publish, **presence)  # type: ignore[arg-type]
        self.connections: list[Connection] = []

    async def start(self) -> Process:
        await self.broker.start()
        return self

    def connect(
        self, socket: RecordingSocket | None = None, *, max_queue: int = DEFAULT_MAX_QUEUE
    ) -> tuple[Connection, RecordingSocket]:
        socket = socket or RecordingSocket()
        connection = Connection(socket, max_queue=max_queue)
        self.connections.append(connection)
        return connection, socket

    async def watch(self, topic: str) -> RecordingSocket:
        """A client of this process that joined topic and records what it is sent."""
        connection, socket = self.connect()
        assert await self.hub.join(topic, connection)
        return socket

    async def stop(self) -> None:
        for connection in self.connections:
            connection.abort(CloseCode.RESTARTING)
        await self.presence.stop()
        await self.broker.stop()
        await self.redis.aclose()


StartProcess = Callable[..., Process]


@pytest.fixture
async def start_process(services: Services, redis_prefix: str) -> AsyncIterator[StartProcess]:
    """Makes simulated server processes on the suite's Redis (or another URL); all stopped afterwards."""
    made: list[Process] = []

    def start(
        redis_url: str | None = None,
        presence: dict[str, float] | None = None,
        receive: Receiver | None = None,
        *,
        cluster: bool = False,
        **broker_options: object,
    ) -> Process:
        process = Process(
            redis_url or services.redis_url, redis_prefix, presence or {}, receive, cluster=cluster, **broker_options
        )
        made.append(process)
        return process

    yield start
    for process in made:
        await process.stop()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis of this test alone, which the test may stop and start again on the same port."""
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()

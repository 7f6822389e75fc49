"""A publication Redis confirms too late: this process's sockets get the message at once, and only once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import asyncpg
import pytest

from server.embedded import free_port
from server.settings import Settings
from tests.factories import create_cast, create_session
from tests.harness import Services, live_server
from tests.live_client import LiveClient

ROOM = "test-condition/main"


class SlowReplies:
    """A TCP proxy in front of Redis that passes commands at once and, while `delay` is set, holds
    Redis's replies (and pub/sub messages) that long: Redis runs a PUBLISH, its answer comes late."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.delay = 0.0
        self.listen_port = free_port()
        self._pumps: set[asyncio.Task[None]] = set()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, slow: bool) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while chunk := await reader.read(65536):
                if slow and self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(chunk)
                await writer.drain()
        writer.close()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        redis_reader, redis_writer = await asyncio.open_connection(self.host, self.port)
        for pump in (
            self._pump(client_reader, redis_writer, slow=False),
            self._pump(redis_reader, client_writer, slow=True),
        ):
            task = asyncio.create_task(pump)
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        server = await asyncio.start_server(self._serve, "127.0.0.1", self.listen_port)
        try:
            yield f"redis://127.0.0.1:{self.listen_port}/0"
        finally:
            server.close()
            for task in list(self._pumps):
                task.cancel()
            await asyncio.gather(*self._pumps, return_exceptions=True)


async def test_a_publication_confirmed_after_the_publish_timeout_reaches_each_socket_once(
    settings: Settings, services: Services, db: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    # Found by the soak (bench/soak.py) on an overloaded machine: a PUBLISH reached Redis but its answer was
    # read after the broker's 1 s publish timeout, so the process delivered the message to its own sockets
    # itself, and again when Redis sent it back: 7 sockets got one seq twice between two joined.
    address = urlsplit(services.redis_url)
    assert address.hostname is not None and address.port is not None
    proxy = SlowReplies(address.hostname, address.port)
    cast = await create_cast(db)
    async with proxy.running() as redis_url, live_server(settings.with_overrides(redis_url=redis_url)) as server:
        leader = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast["leader"]))
        member = await LiveClient.connect(server.ws_url, server.base_url, await create_session(db, cast["member"]))
        try:
            for client in (leader, member):
                assert (await client.join(ROOM))["type"] == "joined"
            with caplog.at_level(logging.WARNING, logger="channels.broker"):
                proxy.delay = 1.5
                assert (await leader.say(ROOM, "once"))["type"] == "ack"
                await member.wait_for(lambda frame: frame["type"] == "message" and frame["seq"] == 1)
                await asyncio.sleep(2.5)  # the late copy from Redis arrives meanwhile
                proxy.delay = 0.0
                assert (await leader.say(ROOM, "after", client_id="second"))["type"] == "ack"
                await member.wait_for(lambda frame: frame["type"] == "message" and frame["seq"] == 2)
            assert any("publish to" in record.getMessage() for record in caplog.records), "no publish timed out"
            assert member.seqs(ROOM) == [1, 2]
            assert leader.seqs(ROOM) == [1, 2]
        finally:
            await leader.close()
            await member.close()

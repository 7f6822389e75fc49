"""The broker: one Redis subscriber connection per process, prefixed channels, fast-failing publish, reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from channels.broker import Broker
from server.embedded import EmbeddedRedis
from tests.harness import Services

WAIT = 10  # seconds; only a bound against hangs, never an expectation


class Inbox:
    """Collects what a broker hands to its message handler."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

    def __call__(self, topic: str, payload: bytes) -> None:
        self.queue.put_nowait((topic, payload))

    async def next(self) -> tuple[str, bytes]:
        return await asyncio.wait_for(self.queue.get(), WAIT)


class Reconnected:
    """An on_reconnect callback that tests can wait on."""

    def __init__(self) -> None:
        self.calls = 0
        self.event = asyncio.Event()

    async def __call__(self) -> None:
        self.calls += 1
        self.event.set()

    async def wait(self) -> None:
        await asyncio.wait_for(self.event.wait(), WAIT)
        self.event.clear()


def make_broker(url: str, prefix: str, inbox: Inbox | None = None, **options: object) -> Broker:
    broker = Broker(url, prefix, min_backoff=0.02, max_backoff=0.2, **options)  # type: ignore[arg-type]
    broker.on_message = inbox
    return broker


@pytest.fixture
async def brokers(services: Services, redis_prefix: str) -> AsyncIterator[list[Broker]]:
    """Brokers made by the test on the suite's Redis; all stopped afterwards."""
    made: list[Broker] = []
    yield made
    for broker in made:
        await broker.stop()


async def test_a_published_payload_reaches_a_subscriber_of_the_topic(
    services: Services, redis_prefix: str, brokers: list[Broker]
) -> None:
    inbox = Inbox()
    listener = make_broker(services.redis_url, redis_prefix, inbox)
    speaker = make_broker(services.redis_url, redis_prefix)
    brokers += [listener, speaker]
    await listener.start()
    await speaker.start()

    assert await listener.subscribe("cms/main") is True
    assert await speaker.publish("cms/main", b'{"type":"message","seq":1}') is True
    assert await inbox.next() == ("cms/main", b'{"type":"message","seq":1}')


async def test_channels_carry_the_prefix_and_other_prefixes_never_meet(
    services: Services, redis_prefix: str, brokers: list[Broker]
) -> None:
    mine, theirs = Inbox(), Inbox()
    broker = make_broker(services.redis_url, redis_prefix, mine)
    other_site = make_broker(services.redis_url, redis_prefix + "other:", theirs)
    brokers += [broker, other_site]
    await broker.start()
    await other_site.start()
    assert await broker.subscribe("room")
    assert await other_site.subscribe("room")

    raw = aioredis.Redis.from_url(services.redis_url)
    try:
        assert await raw.pubsub_numsub(f"{redis_prefix}room") == [(f"{redis_prefix}room".encode(), 1)]
    finally:
        await raw.aclose()

    assert await broker.publish("room", b"mine")
    assert await other_site.publish("room", b"theirs")
    assert await mine.next() == ("room", b"mine")
    # Published after "mine" and received, so "mine" would have arrived before it if it leaked.
    assert await theirs.next() == ("room", b"theirs")
    assert mine.queue.empty()


async def test_one_subscriber_connection_serves_every_topic(
    services: Services, redis_prefix: str, brokers: list[Broker]
) -> None:
    broker = make_broker(services.redis_url, redis_prefix, Inbox())
    brokers.append(broker)
    await broker.start()
    topics = [f"room-{n}" for n in range(20)]
    assert all(await asyncio.gather(*(broker.subscribe(topic) for topic in topics)))

    raw = aioredis.Redis.from_url(services.redis_url)
    try:
        clients = await raw.client_list()
        channels = await raw.pubsub_channels(f"{redis_prefix}*")
    finally:
        await raw.aclose()
    subscribers = [client for client in clients if int(client["sub"]) > 0 and client["name"] == broker.client_name]
    assert len(subscribers) == 1
    assert int(subscribers[0]["sub"]) == 20
    assert sorted(channels) == sorted(f"{redis_prefix}{topic}".encode() for topic in topics)


async def test_an_unsubscribed_topic_stops_arriving(
    services: Services, redis_prefix: str, brokers: list[Broker]
) -> None:
    inbox = Inbox()
    broker = make_broker(services.redis_url, redis_prefix, inbox)
    brokers.append(broker)
    await broker.start()
    assert await broker.subscribe("a")
    assert await broker.subscribe("b")
    await broker.unsubscribe("a")
    assert broker.topics == {"b"}

    await broker.publish("a", b"gone")
    await broker.publish("b", b"here")
    assert await inbox.next() == ("b", b"here")
    assert inbox.queue.empty()


async def test_subscribing_again_after_unsubscribing_listens_again(
    services: Services, redis_prefix: str, brokers: list[Broker]
) -> None:
    inbox = Inbox()
    broker = make_broker(services.redis_url, redis_prefix, inbox)
    brokers.append(broker)
    await broker.start()
    # Back to back, without waiting: Redis sees SUBSCRIBE, UNSUBSCRIBE, SUBSCRIBE in that order.
    first = asyncio.create_task(broker.subscribe("a"))
    await asyncio.sleep(0)
    await broker.unsubscribe("a")
    assert await broker.subscribe("a") is True
    await first
    await broker.publish("a", b"back")
    assert await inbox.next() == ("a", b"back")


async def test_a_failing_message_handler_does_not_stop_delivery(
    services: Services, redis_prefix: str, brokers: list[Broker]
) -> None:
    inbox = Inbox()

    def handler(topic: str, payload: bytes) -> None:
        if payload == b"boom":
            raise RuntimeError("handler bug")
        inbox(topic, payload)

    broker = make_broker(services.redis_url, redis_prefix)
    broker.on_message = handler
    brokers.append(broker)
    await broker.start()
    assert await broker.subscribe("a")
    await broker.publish("a", b"boom")
    await broker.publish("a", b"fine")
    assert await inbox.next() == ("a", b"fine")
    assert broker.connected


async def test_the_broker_resubscribes_and_delivers_again_after_redis_restarts(
    private_redis: EmbeddedRedis, redis_prefix: str, brokers: list[Broker]
) -> None:
    inbox = Inbox()
    reconnected = Reconnected()
    broker = make_broker(private_redis.url, redis_prefix, inbox, on_reconnect=reconnected, ping_interval=0.5)
    brokers.append(broker)
    await broker.start()
    assert await broker.subscribe("cms/main")
    assert await broker.subscribe("cms/parents")
    assert await broker.publish("cms/main", b"before")
    assert await inbox.next() == ("cms/main", b"before")

    private_redis.stop()
    # The sender is told at once that nothing was published, instead of being kept waiting.
    assert await asyncio.wait_for(broker.publish("cms/main", b"lost"), WAIT) is False
    assert await asyncio.wait_for(broker.subscribe("cms/new"), WAIT) is False
    assert not broker.connected

    private_redis.start()  # same port, same data folder
    await reconnected.wait()
    assert broker.reconnects == 1
    assert reconnected.calls == 1
    assert broker.connected
    assert broker.topics == {"cms/main", "cms/parents", "cms/new"}

    # Subscriptions are in effect by the time on_reconnect runs: nothing published after it is missed.
    other = make_broker(private_redis.url, redis_prefix)
    brokers.append(other)
    await other.start()
    for topic in ["cms/main", "cms/parents", "cms/new"]:
        assert await other.publish(topic, b"after")
        assert await inbox.next() == (topic, b"after")
    assert await broker.publish("cms/main", b"mine again")
    assert await inbox.next() == ("cms/main", b"mine again")


async def test_a_broker_started_while_redis_is_down_connects_when_it_comes_up(
    tmp_path: Path, redis_prefix: str, brokers: list[Broker]
) -> None:
    from server.embedded import free_port

    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    inbox = Inbox()
    reconnected = Reconnected()
    broker = make_broker(server.url, redis_prefix, inbox, on_reconnect=reconnected)
    brokers.append(broker)
    await asyncio.wait_for(broker.start(), WAIT)
    assert not broker.connected
    assert await broker.subscribe("room") is False
    assert await broker.publish("room", b"nobody") is False

    server.start()
    try:
        await reconnected.wait()
        assert broker.connected
        assert await broker.publish("room", b"hello")
        assert await inbox.next() == ("room", b"hello")
    finally:
        server.stop()

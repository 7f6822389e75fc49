"""The broker on a real Redis Cluster: sharded pub/sub, one connection per shard, failover and resharding."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from channels.broker import Broker
from tests.channels.fakes import eventually
from tests.channels.test_broker import Inbox, Reconnected
from tests.redis_cluster import LocalCluster

PREFIX = "k:live:"
# Spread over the three shards (CRC16 of names that differ in one digit can crowd into two).
TOPICS = [f"{i}-community/main" for i in range(24)]


@pytest.fixture
async def brokers(redis_cluster: LocalCluster) -> AsyncIterator[list[Broker]]:
    made: list[Broker] = []
    yield made
    for broker in made:
        await broker.stop()


async def start_broker(
    made: list[Broker], cluster: LocalCluster, inbox: Inbox | None = None, **options: object
) -> Broker:
    broker = Broker(cluster.url, PREFIX, cluster=True, min_backoff=0.02, max_backoff=0.2, **options)  # type: ignore[arg-type]
    broker.on_message = inbox
    made.append(broker)
    await broker.start()
    return broker


async def publish_until_taken(broker: Broker, topic: str, payload: bytes) -> None:
    """During a failover a publication is refused until the replica has taken over: retry until taken."""
    await eventually(lambda: broker.publish(topic, payload))


async def received(inbox: Inbox, expected: set[tuple[str, bytes]]) -> None:
    got: set[tuple[str, bytes]] = set()
    while not expected <= got:
        got.add(await inbox.next())


def shard_channels(cluster: LocalCluster) -> dict[int, set[str]]:
    """Per live master: the shard channels someone subscribes to there."""
    result = {}
    for node in cluster.masters_now():
        with node.client() as client:
            result[node.port] = {channel.decode() for channel in client.execute_command("PUBSUB", "SHARDCHANNELS")}
    return result


def subscriber_connections(cluster: LocalCluster, broker: Broker) -> dict[int, int]:
    counts = {}
    for node in cluster.masters_now():
        with node.client() as client:
            counts[node.port] = sum(1 for entry in client.client_list() if entry["name"] == broker.client_name)
    return counts


async def test_each_topic_travels_on_its_own_shard_over_one_connection_per_shard(
    redis_cluster: LocalCluster, brokers: list[Broker]
) -> None:
    inbox = Inbox()
    listener = await start_broker(brokers, redis_cluster, inbox)
    publisher = await start_broker(brokers, redis_cluster)
    assert all(await asyncio.gather(*(listener.subscribe(topic) for topic in TOPICS)))
    for topic in TOPICS:
        assert await publisher.publish(topic, topic.encode())
    await received(inbox, {(topic, topic.encode()) for topic in TOPICS})
    # Every master holds exactly the channels of its own slots, each on one connection of the listener.
    channels = shard_channels(redis_cluster)
    assert set().union(*channels.values()) == {PREFIX + topic for topic in TOPICS}
    for port, names in channels.items():
        assert {redis_cluster.master_of(name).port for name in names} <= {port}
    assert all(channels.values()), "the topics should cover every shard"
    assert subscriber_connections(redis_cluster, listener) == {node.port: 1 for node in redis_cluster.masters_now()}
    assert len(listener.shards) == 3
    assert publisher.shards == frozenset()  # publishing alone subscribes to nothing


async def test_a_killed_master_fails_over_and_the_broker_resubscribes_on_the_promoted_replica(
    redis_cluster: LocalCluster, brokers: list[Broker]
) -> None:
    inbox, reconnected = Inbox(), Reconnected()
    listener = await start_broker(brokers, redis_cluster, inbox, on_reconnect=reconnected)
    publisher = await start_broker(brokers, redis_cluster)
    assert all(await asyncio.gather(*(listener.subscribe(topic) for topic in TOPICS)))
    victim = redis_cluster.master_of(PREFIX + TOPICS[0])
    victim.kill()
    # The server is told that messages may have been missed, once every shard is subscribed again.
    await reconnected.wait()
    assert listener.connected and listener.reconnects == 1
    assert victim.name not in listener.shards
    redis_cluster.wait_until_ok()
    for topic in TOPICS:
        await publish_until_taken(publisher, topic, b"after " + topic.encode())
    await received(inbox, {(topic, b"after " + topic.encode()) for topic in TOPICS})
    assert subscriber_connections(redis_cluster, listener) == {node.port: 1 for node in redis_cluster.masters_now()}


async def test_a_slot_moved_to_another_shard_is_subscribed_on_its_new_master(
    redis_cluster: LocalCluster, brokers: list[Broker]
) -> None:
    inbox, reconnected = Inbox(), Reconnected()
    listener = await start_broker(brokers, redis_cluster, inbox, on_reconnect=reconnected)
    publisher = await start_broker(brokers, redis_cluster)
    topic = TOPICS[0]
    assert await listener.subscribe(topic)
    source = redis_cluster.master_of(PREFIX + topic)
    target = next(node for node in redis_cluster.masters_now() if node is not source)
    redis_cluster.move_slot(PREFIX + topic, target)
    # Redis drops the shard channel of a slot that left (an unasked sunsubscribe); the broker follows it.
    await reconnected.wait()
    assert PREFIX + topic in shard_channels(redis_cluster)[target.port]
    await publish_until_taken(publisher, topic, b"moved")
    await received(inbox, {(topic, b"moved")})


async def test_unsubscribing_leaves_the_shard_channel(redis_cluster: LocalCluster, brokers: list[Broker]) -> None:
    listener = await start_broker(brokers, redis_cluster, Inbox())
    assert await listener.subscribe(TOPICS[0])
    await listener.unsubscribe(TOPICS[0])

    async def none_left() -> bool:
        return not set().union(*shard_channels(redis_cluster).values())

    await eventually(none_left)
    assert listener.topics == frozenset()

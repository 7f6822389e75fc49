"""The hub: topic → local connections, one subscription per topic while it has any, encode once, fan-out that never waits."""

from __future__ import annotations

import asyncio
import json

import redis.asyncio as aioredis

from channels.hub import Hub
from channels.protocol import CloseCode
from server.embedded import EmbeddedRedis
from tests.channels.conftest import Process, StartProcess
from tests.channels.fakes import StalledSocket
from tests.harness import Services

WAIT = 10  # seconds; only a bound against hangs


def message(seq: int) -> bytes:
    return json.dumps({"type": "message", "room": "cms/main", "seq": seq}).encode()


async def numsub(redis_url: str, channel: str) -> int:
    raw = aioredis.Redis.from_url(redis_url)
    try:
        [(_, count)] = await raw.pubsub_numsub(channel)
        return int(count)
    finally:
        await raw.aclose()


async def test_a_message_published_on_one_process_reaches_connections_on_every_process(
    start_process: StartProcess,
) -> None:
    first, second = start_process(), start_process()
    await first.broker.start()
    await second.broker.start()
    a1, a1_socket = first.connect()
    a2, a2_socket = first.connect()
    b1, b1_socket = second.connect()
    assert await first.hub.join("cms/main", a1)
    assert await first.hub.join("cms/main", a2)
    assert await second.hub.join("cms/main", b1)

    assert await first.hub.publish("cms/main", message(1))
    for socket in [a1_socket, a2_socket, b1_socket]:
        assert await socket.wait_for(1) == [json.loads(message(1))]


async def test_every_local_connection_gets_the_very_same_encoded_frame(start_process: StartProcess) -> None:
    process = start_process()
    await process.broker.start()
    sockets = []
    for _ in range(5):
        connection, socket = process.connect()
        sockets.append(socket)
        assert await process.hub.join("cms/main", connection)

    await process.hub.publish("cms/main", message(1))
    for socket in sockets:
        await socket.wait_for(1)
    first = sockets[0].sent[0]
    assert isinstance(first, str)
    # One object handed to every socket: encoded once, decoded once, never once per client.
    assert all(socket.sent[0] is first for socket in sockets)


async def test_a_new_message_skips_only_the_connections_whose_history_had_it(start_process: StartProcess) -> None:
    process = start_process()
    await process.broker.start()
    rejoined, rejoined_socket = process.connect()
    staying, staying_socket = process.connect()
    for connection in (rejoined, staying):
        assert await process.hub.join("cms/main", connection)
    rejoined.hold("cms/main")
    rejoined.send(message(1).decode())  # its history, up to head 1
    rejoined.release("cms/main", floor=1)
    # Seq 1's publication arrives after that history was sent: only the other connection needs it.
    assert process.hub.deliver("cms/main", message(1), seq=1) == 1
    assert process.hub.deliver("cms/main", message(2), seq=2) == 2
    await rejoined_socket.wait_for(2)
    await staying_socket.wait_for(2)
    assert [f["seq"] for f in rejoined_socket.frames()] == [1, 2]
    assert [f["seq"] for f in staying_socket.frames()] == [1, 2]
    # Leaving forgets the floor: after a rejoin, e.g. to a reset history, seq 1 is new again.
    await process.hub.leave("cms/main", rejoined)
    assert await process.hub.join("cms/main", rejoined)
    assert process.hub.deliver("cms/main", message(1), seq=1) == 2


async def test_the_topic_is_subscribed_on_the_first_connection_and_unsubscribed_on_the_last(
    start_process: StartProcess, services: Services, redis_prefix: str
) -> None:
    process = start_process()
    await process.broker.start()
    channel = f"{redis_prefix}cms/main"
    first, _ = process.connect()
    second, _ = process.connect()
    assert await numsub(services.redis_url, channel) == 0

    assert await process.hub.join("cms/main", first)
    assert await process.hub.join("cms/main", second)
    assert process.broker.topics == {"cms/main"}
    assert await numsub(services.redis_url, channel) == 1

    await process.hub.leave("cms/main", first)
    assert process.broker.topics == {"cms/main"}
    await process.hub.leave("cms/main", second)
    assert process.broker.topics == frozenset()
    assert process.hub.topics == frozenset()
    assert await numsub(services.redis_url, channel) == 0


async def test_many_connections_joining_a_room_at_once_are_all_live(
    start_process: StartProcess, services: Services, redis_prefix: str
) -> None:
    process = start_process()
    await process.broker.start()
    joined = [process.connect() for _ in range(50)]
    results = await asyncio.gather(*(process.hub.join("cms/main", connection) for connection, _ in joined))
    assert all(results)
    assert await numsub(services.redis_url, f"{redis_prefix}cms/main") == 1

    await process.hub.publish("cms/main", message(1))
    for _, socket in joined:
        assert await socket.wait_for(1) == [json.loads(message(1))]


async def test_leave_all_takes_a_connection_out_of_every_topic(start_process: StartProcess) -> None:
    process = start_process()
    await process.broker.start()
    connection, _ = process.connect()
    other, _ = process.connect()
    for topic in ["cms/main", "cms/parents", "user:7"]:
        await process.hub.join(topic, connection)
    await process.hub.join("cms/main", other)

    await process.hub.leave_all(connection)
    assert connection.topics == set()
    assert process.hub.topics == {"cms/main"}
    assert process.broker.topics == {"cms/main"}
    assert process.hub.connections("cms/main") == {other}


async def test_a_stalled_client_is_closed_with_resume_code_and_others_keep_receiving(
    start_process: StartProcess,
) -> None:
    sender, receiver = start_process(), start_process()
    await sender.broker.start()
    await receiver.broker.start()
    fast = [receiver.connect(max_queue=50), receiver.connect(max_queue=50)]
    stalled, stalled_socket = receiver.connect(StalledSocket(), max_queue=50)
    for connection, _ in [fast[0], (stalled, stalled_socket), fast[1]]:
        assert await receiver.hub.join("cms/main", connection)

    total = 500
    for seq in range(1, total + 1):
        assert await sender.hub.publish("cms/main", message(seq))

    await asyncio.wait_for(stalled.wait_closed(), WAIT)
    assert stalled_socket.close_code == CloseCode.RESUME
    for _, socket in fast:
        frames = await socket.wait_for(total)
        assert [frame["seq"] for frame in frames] == list(range(1, total + 1))


async def test_while_redis_is_down_a_publish_still_reaches_this_process_and_the_rest_after_it_returns(
    start_process: StartProcess, private_redis: EmbeddedRedis
) -> None:
    reconnected = asyncio.Event()

    async def on_reconnect() -> None:
        reconnected.set()

    here = start_process(private_redis.url, on_reconnect=on_reconnect, ping_interval=0.5)
    elsewhere = start_process(private_redis.url)
    await here.broker.start()
    await elsewhere.broker.start()
    connection, socket = here.connect()
    assert await here.hub.join("cms/main", connection)

    private_redis.stop()
    assert await asyncio.wait_for(here.hub.publish("cms/main", message(1)), WAIT) is False
    assert await socket.wait_for(1) == [json.loads(message(1))]
    late, late_socket = here.connect()
    assert await asyncio.wait_for(here.hub.join("cms/parents", late), WAIT) is False

    private_redis.start()
    await asyncio.wait_for(reconnected.wait(), WAIT)
    assert await elsewhere.hub.publish("cms/main", message(2))
    assert await elsewhere.hub.publish("cms/parents", message(3))
    assert [frame["seq"] for frame in await socket.wait_for(2)] == [1, 2]
    assert [frame["seq"] for frame in await late_socket.wait_for(1)] == [3]


# --- the receive hook, wired the way server/live.py's LiveService wires it ----------------------


class Unwrapping:
    """A receive hook like LiveService's: takes off a publish-time envelope, keeps control topics, counts deliveries."""

    def __init__(self) -> None:
        self.hub: Hub | None = None
        self.seen: list[tuple[str, bytes]] = []
        self.control: list[tuple[str, bytes]] = []
        self.delivered = 0

    def __call__(self, topic: str, raw: bytes) -> None:
        self.seen.append((topic, raw))
        stamp, _, payload = raw.partition(b"\n")
        if int(stamp) < 0:
            raise ValueError("a broken envelope")
        if topic.startswith("user:"):
            self.control.append((topic, payload))
            return
        assert self.hub is not None
        self.delivered += self.hub.deliver(topic, payload)


def enveloped(payload: bytes, stamp: int = 1_700_000_000_000_000_000) -> bytes:
    return b"%d\n" % stamp + payload


def start_unwrapping(start_process: StartProcess, redis_url: str | None = None, **options: object) -> Process:
    hook = Unwrapping()
    process = start_process(redis_url, receive=hook, **options)
    hook.hub = process.hub
    return process


def hook_of(process: Process) -> Unwrapping:
    hook = process.broker.on_message
    assert isinstance(hook, Unwrapping)
    return hook


async def test_the_receive_hook_sees_each_payload_as_published_and_connections_get_what_it_delivers(
    start_process: StartProcess,
) -> None:
    first, second = start_unwrapping(start_process), start_unwrapping(start_process)
    await first.broker.start()
    await second.broker.start()
    here = [await first.watch("cms/main"), await first.watch("cms/main")]
    there = await second.watch("cms/main")

    assert await first.hub.publish("cms/main", enveloped(message(1)))
    for socket in [*here, there]:
        assert await socket.wait_for(1) == [json.loads(message(1))]
    # Once per process and message, with the envelope on; the sockets never see the envelope.
    assert hook_of(first).seen == hook_of(second).seen == [("cms/main", enveloped(message(1)))]
    assert (hook_of(first).delivered, hook_of(second).delivered) == (2, 1)
    assert here[0].sent[0] is here[1].sent[0]  # still framed once for every local socket


async def test_a_topic_the_receive_hook_keeps_for_itself_reaches_no_connection(start_process: StartProcess) -> None:
    process = start_unwrapping(start_process)
    await process.broker.start()
    connection, socket = process.connect()
    assert await process.hub.join("user:7", connection)
    assert await process.hub.join("cms/main", connection)

    assert await process.hub.publish("user:7", enveloped(b'{"close":true}'))
    assert await process.hub.publish("cms/main", enveloped(message(1)))
    # One subscriber connection keeps Redis's order: the control message was handled before this one.
    assert await socket.wait_for(1) == [json.loads(message(1))]
    assert hook_of(process).control == [("user:7", b'{"close":true}')]
    assert len(socket.sent) == 1


async def test_while_redis_is_down_the_local_fallback_of_publish_goes_through_the_receive_hook(
    start_process: StartProcess, private_redis: EmbeddedRedis
) -> None:
    process = start_unwrapping(start_process, private_redis.url)
    await process.broker.start()
    socket = await process.watch("cms/main")

    private_redis.stop()
    assert await asyncio.wait_for(process.hub.publish("cms/main", enveloped(message(1))), WAIT) is False
    assert await socket.wait_for(1) == [json.loads(message(1))]
    assert hook_of(process).seen == [("cms/main", enveloped(message(1)))]


async def test_a_receive_hook_that_fails_on_one_message_does_not_stop_the_next(start_process: StartProcess) -> None:
    process = start_unwrapping(start_process)
    await process.broker.start()
    socket = await process.watch("cms/main")

    assert await process.hub.publish("cms/main", enveloped(message(1), stamp=-1))
    assert await process.hub.publish("cms/main", enveloped(message(2)))
    assert [frame["seq"] for frame in await socket.wait_for(1)] == [2]
    assert len(hook_of(process).seen) == 2
    assert process.broker.connected

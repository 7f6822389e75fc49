"""One subscriber connection to one Redis node: (S)SUBSCRIBE its channels, confirmations, pings and reconnects."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import random
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from channels.redis_client import UNREACHABLE

log = logging.getLogger(__name__)

# A send can also raise AttributeError: the reader disconnected the socket halfway through it.
_SEND_FAILURES: tuple[type[Exception], ...] = (*UNREACHABLE, AttributeError)


@dataclasses.dataclass(frozen=True)
class Timing:
    """How long a subscriber waits for Redis, and how it backs off between attempts."""

    connect_timeout: float = 2.0
    subscribe_timeout: float = 2.0
    ping_interval: float = 5.0
    min_backoff: float = 0.05
    max_backoff: float = 5.0

    async def back_off(self, failures: int) -> None:
        """Sleep before the next attempt after failures (1, 2, ...) in a row: doubling, capped, jittered."""
        delay = min(self.max_backoff, self.min_backoff * 2 ** min(failures - 1, 16))
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))


class Subscriber:
    """Channels subscribed on one connection, owned here rather than left to redis-py's PubSub.

    redis-py's own silent reconnects would hide the gap a reconnect leaves: when the connection
    drops, this retries with backoff, subscribes every current channel again, waits until Redis
    has confirmed them (a PING answered after them), and calls on_ready(after_loss=True), so the
    server can make its clients catch up from Postgres.

    sharded: SSUBSCRIBE/SUNSUBSCRIBE (Redis Cluster's sharded pub/sub, one command per channel,
    since one command may name only one slot). A shard channel that Redis drops by itself (its
    slot moved to another node: an unasked `sunsubscribe`) is reported through on_evicted; a
    MOVED answer ends the connection like any error, through on_lost.
    """

    def __init__(
        self,
        url: str,
        *,
        sharded: bool = False,
        on_message: Callable[[bytes, bytes], None],
        on_ready: Callable[[Subscriber, bool], None],
        on_lost: Callable[[Subscriber], None] | None = None,
        on_evicted: Callable[[Subscriber, bytes], None] | None = None,
        timing: Timing = Timing(),
        client_name: str | None = None,
        name: str = "redis subscriber",
    ) -> None:
        # RESP2 so that pub/sub messages arrive as plain replies; no retries inside redis-py (reconnects are ours).
        self.pool = aioredis.ConnectionPool.from_url(
            url,
            protocol=2,
            socket_connect_timeout=timing.connect_timeout,
            socket_timeout=None,
            retry=Retry(NoBackoff(), 0),
            client_name=client_name,
        )
        self.name = name
        self.channels: set[bytes] = set()
        self._subscribe = "SSUBSCRIBE" if sharded else "SUBSCRIBE"
        self._unsubscribe = "SUNSUBSCRIBE" if sharded else "UNSUBSCRIBE"
        self._sharded = sharded
        self._on_message = on_message
        self._on_ready = on_ready
        self._on_lost = on_lost
        self._on_evicted = on_evicted
        self._timing = timing
        self._confirmed: set[bytes] = set()
        # One future per SUBSCRIBE sent for a channel, resolved in order by Redis's confirmations.
        self._waiting: dict[bytes, collections.deque[asyncio.Future[bool]]] = {}
        # UNSUBSCRIBEs sent and not yet confirmed, so that an unasked one (sharded: slot moved) stands out.
        self._leaving: collections.Counter[bytes] = collections.Counter()
        self._conn: AbstractConnection | None = None
        self._send_lock = asyncio.Lock()
        self._ready = False
        self._lost = False
        self._failures = 0
        self._first_attempt = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the connection loop; returns after the first attempt, whether or not it worked."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)
        await self._first_attempt.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._connection_lost(report=False)
        await self.pool.aclose()

    @property
    def connected(self) -> bool:
        """True while the connection is up, from when Redis confirmed the resubscriptions."""
        return self._ready

    def confirmed(self, channel: bytes) -> bool:
        """True when Redis confirmed channel on the current connection (and has not dropped it since)."""
        return channel in self._confirmed

    # --- subscriptions ------------------------------------------------------------------------

    async def subscribe(self, channel: bytes) -> bool:
        """Listen to channel; True once Redis confirms, False if this node is unreachable now.

        Either way the channel is remembered and subscribed again after every reconnect.
        """
        self.channels.add(channel)
        if channel in self._confirmed:
            return True
        if self._conn is None:
            return False
        future = asyncio.get_running_loop().create_future()
        waiting = self._waiting.setdefault(channel, collections.deque())
        waiting.append(future)
        if not await self._send(self._subscribe, channel):
            with contextlib.suppress(ValueError):
                waiting.remove(future)  # no confirmation will come for it
            return False
        try:
            async with asyncio.timeout(self._timing.subscribe_timeout):
                return await asyncio.shield(future)
        except TimeoutError:
            return False

    async def unsubscribe(self, channel: bytes) -> None:
        self.channels.discard(channel)
        self._confirmed.discard(channel)
        if self._conn is not None:
            self._leaving[channel] += 1
            if not await self._send(self._unsubscribe, channel):
                self._leaving[channel] -= 1

    # --- internals ----------------------------------------------------------------------------

    async def _send(self, *args: Any) -> bool:
        conn = self._conn
        if conn is None:
            return False
        try:
            async with self._send_lock:
                if not conn.is_connected:
                    return False  # never let redis-py reconnect it behind the reader's back
                await conn.send_command(*args, check_health=False)
        except _SEND_FAILURES as exc:
            log.warning("%s: %s failed: %s", self.name, args[0], exc)
            return False
        return True

    async def _run(self) -> None:
        while True:
            try:
                await self._session()
            except UNREACHABLE as exc:
                if self._failures == 0:  # say it once per outage, not once per retry
                    log.warning("%s: connection lost: %s", self.name, exc)
            except Exception:
                log.exception("%s failed", self.name)
            self._first_attempt.set()
            self._failures += 1
            await self._timing.back_off(self._failures)

    async def _session(self) -> None:
        conn: AbstractConnection = self.pool.make_connection()  # type: ignore[no-untyped-call]
        try:
            # The handshake after the TCP connect has no socket timeout of its own.
            async with asyncio.timeout(self._timing.connect_timeout * 2):
                await conn.connect()  # type: ignore[no-untyped-call]
            self._conn = conn
            # Channels added from here on send their own SUBSCRIBE; the ones before are resent now.
            channels = list(self.channels)
            for channel in channels:
                self._waiting.setdefault(channel, collections.deque()).append(
                    asyncio.get_running_loop().create_future()
                )
            # One slot per sharded command: a shard channel each.
            batches = [[channel] for channel in channels] if self._sharded else [channels] if channels else []
            for batch in batches:
                if not await self._send(self._subscribe, *batch):
                    raise ConnectionError("could not resubscribe")
            # Redis answers in order, so the PONG means every SUBSCRIBE above is in effect.
            if not await self._send("PING"):
                raise ConnectionError("could not ping")
            handshake = True
            ping_outstanding = False
            while True:
                reply = await conn.read_response(timeout=self._timing.ping_interval)
                if reply is None:
                    if ping_outstanding:
                        raise TimeoutError("no answer from redis to a ping")
                    ping_outstanding = True
                    if not await self._send("PING"):
                        raise ConnectionError("could not ping")
                    continue
                kind = self._dispatch(reply)
                if kind == b"pong":
                    ping_outstanding = False
                    if handshake:
                        handshake = False
                        self._became_ready()
        finally:
            # Marked lost before anything else can run, so no sender tries a dead Redis meanwhile.
            self._connection_lost(report=True)
            with contextlib.suppress(Exception):
                await conn.disconnect(nowait=True)

    def _dispatch(self, reply: Any) -> bytes:
        if isinstance(reply, bytes):  # a PING answered outside subscribed mode
            return b"pong" if reply.upper() == b"PONG" else b""
        kind = bytes(reply[0])
        if kind in (b"message", b"smessage"):
            channel, payload = reply[1], reply[2]
            if channel in self.channels:
                try:
                    self._on_message(channel, payload)
                except Exception:
                    log.exception("message handler failed for %r", channel)
        elif kind in (b"subscribe", b"ssubscribe"):
            channel = reply[1]
            queue = self._waiting.get(channel)
            if queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(True)
                if not queue:
                    del self._waiting[channel]
                    if channel in self.channels:
                        self._confirmed.add(channel)
        elif kind in (b"unsubscribe", b"sunsubscribe"):
            channel = reply[1]
            if self._leaving[channel] > 0:
                self._leaving[channel] -= 1
                if not self._leaving[channel]:
                    del self._leaving[channel]
            elif channel in self.channels:
                # Redis dropped it by itself: its slot now lives on another node.
                self._confirmed.discard(channel)
                if self._on_evicted is not None:
                    self._on_evicted(self, channel)
        return kind

    def _became_ready(self) -> None:
        self._ready = True
        self._failures = 0
        self._first_attempt.set()
        after_loss, self._lost = self._lost, False
        if after_loss:
            log.info("%s: reconnected (%d channels)", self.name, len(self.channels))
        self._on_ready(self, after_loss)

    def _connection_lost(self, *, report: bool) -> None:
        self._conn = None
        self._ready = False
        self._lost = True
        self._confirmed.clear()
        self._leaving.clear()
        for queue in self._waiting.values():
            for future in queue:
                if not future.done():
                    future.set_result(False)
        self._waiting.clear()
        if report and self._on_lost is not None:
            self._on_lost(self)

"""Per-process map of topic → local connections, subscribed through the broker while it has any."""

from __future__ import annotations

import asyncio

from channels.broker import Broker, MessageHandler
from channels.connection import Connection, text_frame

Receiver = MessageHandler
"""receive(topic, payload): sees every message first and decides what the local connections get."""


class Hub:
    """Fans each broker message out to the local connections of its topic, as the same one string.

    The broker subscribes to a topic when its first local connection joins and unsubscribes
    when the last one leaves, so Redis only sends a process the topics it has listeners for.

    The hook ``receive`` is the one way to see or change what arrives before the connections
    do. Without it, each payload is delivered as is. With it, ``receive(topic, payload)`` is
    called instead of ``deliver``, with the payload exactly as published, for every message the
    broker brings and for every local fallback of ``publish`` (Redis down); it decides what the
    local connections get by calling ``hub.deliver(topic, inner)`` itself (a slice of the payload,
    say, once an envelope is taken off), or not at all (a control topic it handles itself), and
    can look at the number ``deliver`` returns to measure. The broker calls it directly, so it
    costs no extra call per message; it runs once per message and process, never per socket.
    An exception it raises is logged by the broker and the next message is handled as usual.
    """

    def __init__(self, broker: Broker, *, receive: Receiver | None = None) -> None:
        if broker.on_message is not None:
            raise ValueError("this broker already feeds another hub")
        self.broker = broker
        self._receive: Receiver = self.deliver if receive is None else receive
        broker.on_message = self._receive
        self._rooms: dict[str, set[Connection]] = {}
        self._subscribing: dict[str, asyncio.Task[bool]] = {}

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(self._rooms)

    def membership_count(self) -> int:
        """Connection-topic pairs, over every topic (what the hub holds per socket)."""
        return sum(len(members) for members in self._rooms.values())

    def connections(self, topic: str) -> frozenset[Connection]:
        return frozenset(self._rooms.get(topic, ()))

    async def join(self, topic: str, connection: Connection) -> bool:
        """Add connection to topic; True when live delivery is confirmed, False while Redis is down.

        On False the connection is still joined: it receives frames this process publishes at
        once, and everything else after the broker reconnects (see Broker.on_reconnect).
        """
        self._rooms.setdefault(topic, set()).add(connection)
        connection.topics.add(topic)
        # Many sockets join the same room at once after a restart; one SUBSCRIBE serves them all.
        task = self._subscribing.get(topic)
        if task is None:
            task = asyncio.create_task(self.broker.subscribe(topic))
            self._subscribing[topic] = task
            task.add_done_callback(lambda done: self._forget_subscribing(topic, done))
        return await asyncio.shield(task)

    def _forget_subscribing(self, topic: str, task: asyncio.Task[bool]) -> None:
        if self._subscribing.get(topic) is task:
            del self._subscribing[topic]

    async def leave(self, topic: str, connection: Connection) -> None:
        connection.topics.discard(topic)
        connection.forget(topic)
        members = self._rooms.get(topic)
        if members is None or connection not in members:
            return
        members.discard(connection)
        if not members:
            del self._rooms[topic]
            # A SUBSCRIBE still in flight was sent before this UNSUBSCRIBE: the next join needs its own.
            self._subscribing.pop(topic, None)
            await self.broker.unsubscribe(topic)

    async def leave_all(self, connection: Connection) -> None:
        """Remove connection from every topic; call it when its socket ends."""
        for topic in list(connection.topics):
            await self.leave(topic, connection)

    def deliver(self, topic: str, payload: bytes, seq: int | None = None) -> int:
        """Hand payload to every local connection of topic; decoded and framed once, not once per socket.

        seq: the seq payload announces for the first time (a new message), if any: a connection
        that was already sent it from history skips it (Connection.deliver, Connection.release).
        """
        members = self._rooms.get(topic)
        if not members:
            return 0
        text = payload.decode()
        # The websocket frame too is built once per message, not once per socket.
        wire = text_frame(payload)
        delivered = 0
        for connection in list(members):
            # A connection that is too slow closes itself here; the others are not held up.
            if connection.deliver(topic, text, wire, seq):
                delivered += 1
        return delivered

    async def publish(self, topic: str, payload: bytes) -> bool:
        """Publish to every process; if Redis cannot take it, at least this process's clients get it now.

        The local fallback goes through ``receive`` like a message from Redis would.
        """
        if await self.broker.publish(topic, payload):
            return True
        self._receive(topic, payload)
        return False

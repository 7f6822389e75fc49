"""The bare ceiling for bench/live.py: a minimal Starlette websocket fan-out with the same Redis hop as Kindred.

No persistence, no auth, no presence, no history: a `send` is published to Redis at once and
acknowledged, and each process's one Redis subscriber hands the frame to a per-socket queue
drained by a writer task (the least a correct server does so one slow socket cannot stall the
rest). It speaks enough of docs/protocol.md (join, send, ping) for the benchmark client, and
encodes its frames with channels.protocol so the bytes on the wire match Kindred's.
Run it under the Procfile's uvicorn flags: `uvicorn bench.ceiling_app:app ...`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import msgspec
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from channels.protocol import Ack, Joined, Message, Pong, User, encode, encode_text

PREFIX = os.environ.get("CEILING_PREFIX", "ceiling:")
AUTHOR = User(id=1, username="publisher", display_name="Publisher", badge="leader")


class _Frame(msgspec.Struct):
    type: str
    room: str = ""
    client_id: str = ""
    body: str = ""


_decode = msgspec.json.Decoder(_Frame).decode


class Client:
    """One socket: frames queue without waiting and one task writes them."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                await self.websocket.send_text(await self.queue.get())


class Fanout:
    """room → local clients, fed by one Redis pattern subscription per process."""

    def __init__(self, redis_url: str) -> None:
        self.redis = aioredis.Redis.from_url(redis_url)
        self.rooms: dict[str, set[Client]] = {}
        self.seq = itertools.count(1)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.psubscribe(f"{PREFIX}room:*")
        self.task = asyncio.create_task(self._listen(pubsub))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.redis.aclose()

    async def _listen(self, pubsub: aioredis.client.PubSub) -> None:
        skip = len(PREFIX) + len("room:")
        async for message in pubsub.listen():
            if message["type"] != "pmessage":
                continue
            clients = self.rooms.get(message["channel"][skip:].decode())
            if not clients:
                continue
            text = message["data"].decode()  # decoded once, shared by every socket
            for client in clients:
                client.queue.put_nowait(text)

    async def publish(self, room: str, client_id: str, body: str) -> Ack:
        now = datetime.now(UTC)
        seq = next(self.seq)
        frame = Message(
            room=room, seq=seq, epoch="ceiling", id=seq, author=AUTHOR, body=body, created_at=now, client_id=client_id
        )
        await self.redis.publish(f"{PREFIX}room:{room}", encode(frame))
        return Ack(client_id=client_id, room=room, seq=seq, created_at=now)


async def websocket_endpoint(websocket: WebSocket) -> None:
    fanout: Fanout = websocket.app.state.fanout
    await websocket.accept()
    client = Client(websocket)
    joined: set[str] = set()
    try:
        while True:
            try:
                frame = _decode(await websocket.receive_text())
            except msgspec.MsgspecError:
                continue
            if frame.type == "join":
                fanout.rooms.setdefault(frame.room, set()).add(client)
                joined.add(frame.room)
                client.queue.put_nowait(encode_text(Joined(room=frame.room, epoch="ceiling", head_seq=0)))
            elif frame.type == "send":
                ack = await fanout.publish(frame.room, frame.client_id, frame.body)
                client.queue.put_nowait(encode_text(ack))
            elif frame.type == "ping":
                client.queue.put_nowait(encode_text(Pong()))
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        for room in joined:
            members = fanout.rooms.get(room)
            if members is not None:
                members.discard(client)
                if not members:
                    del fanout.rooms[room]
        client.writer.cancel()


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    fanout = Fanout(os.environ.get("CEILING_REDIS_URL", "redis://127.0.0.1:6379/0"))
    await fanout.start()
    app.state.fanout = fanout
    try:
        yield
    finally:
        await fanout.stop()


app = Starlette(
    routes=[Route("/healthz", healthz), WebSocketRoute("/ws", websocket_endpoint)],
    lifespan=lifespan,
)

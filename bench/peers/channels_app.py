"""Django Channels peer for bench/live.py: a websocket consumer and channels_redis groups doing the ceiling's work.

The layer is RedisPubSubChannelLayer, which channels_redis documents as the faster of its two layers
(Redis pub/sub instead of list polling). Run from bench/peers (so `channels` is Django Channels, not Kindred's).
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

import django
from django.conf import settings

PREFIX = os.environ.get("PEER_PREFIX", "peer:")
settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-only",
    ALLOWED_HOSTS=["*"],
    INSTALLED_APPS=["channels"],
    ROOT_URLCONF=__name__,
    CHANNEL_LAYERS={
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [os.environ.get("PEER_REDIS_URL", "redis://127.0.0.1:6379/0")],
                "prefix": PREFIX + "channels",
            },
        }
    },
)
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

urlpatterns: list[Any] = []
seq = itertools.count(1)


class Bench(AsyncWebsocketConsumer):  # type: ignore[misc]
    """One socket: join a group, send to it, receive what the group gets."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            data = json.loads(text_data or "")
        except ValueError:
            return
        kind = data.get("type")
        room = str(data.get("room", ""))
        if kind == "join":
            await self.channel_layer.group_add(room, self.channel_name)
            await self.send(json.dumps({"type": "joined", "room": room, "epoch": "channels", "head_seq": 0}))
        elif kind == "send":
            number = next(seq)
            client_id = data.get("client_id", "")
            message = {
                "type": "message",
                "room": room,
                "seq": number,
                "body": data.get("body", ""),
                "client_id": client_id,
            }
            await self.channel_layer.group_send(room, {"type": "bench.message", "text": json.dumps(message)})
            await self.send(json.dumps({"type": "ack", "room": room, "seq": number, "client_id": client_id}))
        elif kind == "ping":
            await self.send(json.dumps({"type": "pong"}))

    async def bench_message(self, event: dict[str, Any]) -> None:
        await self.send(event["text"])


async def healthz(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


app = ProtocolTypeRouter({"http": healthz, "websocket": URLRouter([path("ws", Bench.as_asgi())])})

"""python-socketio peer for bench/live.py: AsyncServer + AsyncRedisManager doing the ceiling's work (join, send, fan-out)."""

from __future__ import annotations

import itertools
import os
from typing import Any

import socketio

PREFIX = os.environ.get("PEER_PREFIX", "peer:")
manager = socketio.AsyncRedisManager(
    os.environ.get("PEER_REDIS_URL", "redis://127.0.0.1:6379/0"), channel=PREFIX + "socketio"
)
sio = socketio.AsyncServer(
    async_mode="asgi", client_manager=manager, cors_allowed_origins="*", transports=["websocket"]
)
seq = itertools.count(1)


@sio.on("frame")
async def frame(sid: str, data: dict[str, Any]) -> None:
    kind = data.get("type")
    room = str(data.get("room", ""))
    if kind == "join":
        await sio.enter_room(sid, room)
        await sio.emit("frame", {"type": "joined", "room": room, "epoch": "socketio", "head_seq": 0}, to=sid)
    elif kind == "send":
        number = next(seq)
        client_id = data.get("client_id", "")
        message = {"type": "message", "room": room, "seq": number, "body": data.get("body", ""), "client_id": client_id}
        await sio.emit("frame", message, room=room)  # through Redis to every process's members of the room
        await sio.emit("frame", {"type": "ack", "room": room, "seq": number, "client_id": client_id}, to=sid)
    elif kind == "ping":
        await sio.emit("frame", {"type": "pong"}, to=sid)


async def healthz(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


app = socketio.ASGIApp(sio, other_asgi_app=healthz)

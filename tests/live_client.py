"""A small Python client of the live protocol for tests: connect, join, send, and wait for frames."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from server import auth

Frame = dict[str, Any]


class LiveClient:
    """Reads every frame into a list in the background; tests wait for the frames they expect."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self.frames: list[Frame] = []
        self._arrived = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())
        self.close_code: int | None = None

    @classmethod
    async def connect(cls, ws_url: str, origin: str, session: str | None = None, **options: Any) -> LiveClient:
        headers = {"Cookie": f"{auth.SESSION_COOKIE}={session}"} if session else {}
        websocket = await websockets.connect(ws_url, origin=origin, additional_headers=headers, **options)  # type: ignore[arg-type]
        return cls(websocket)

    async def _read(self) -> None:
        try:
            async for raw in self.websocket:
                async with self._arrived:
                    self.frames.append(json.loads(raw))
                    self._arrived.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.websocket.close_code
            async with self._arrived:
                self._arrived.notify_all()

    async def send(self, frame: Frame) -> None:
        await self.websocket.send(json.dumps(frame))

    async def join(self, room: str, since: int | None = None, epoch: str | None = None) -> Frame:
        start = len(self.frames)
        await self.send({"type": "join", "room": room, "since": since, "epoch": epoch})
        return await self.wait_for(
            lambda f: f["type"] in {"joined", "resync", "error"} and f.get("room", f.get("ref")) == room, start=start
        )

    async def say(self, room: str, body: str, client_id: str | None = None) -> Frame:
        """Send a message and wait for its ack (or error)."""
        client_id = client_id or str(uuid.uuid4())
        start = len(self.frames)
        await self.send({"type": "send", "room": room, "client_id": client_id, "body": body})
        return await self.wait_for(
            lambda f: (
                (f["type"] == "ack" and f["client_id"] == client_id)
                or (f["type"] == "error" and f.get("ref") == client_id)
            ),
            start=start,
        )

    async def wait_for(self, predicate: Callable[[Frame], bool], *, start: int = 0, timeout: float = 10.0) -> Frame:
        async def find() -> Frame:
            async with self._arrived:
                while True:
                    for frame in self.frames[start:]:
                        if predicate(frame):
                            return frame
                    if self._reader.done():
                        raise AssertionError(
                            f"connection closed ({self.close_code}) before the frame came; got {self.frames[start:]}"
                        )
                    await self._arrived.wait()

        return await asyncio.wait_for(find(), timeout)

    async def wait_closed(self, timeout: float = 10.0) -> int | None:
        await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        return self.close_code

    def messages(self, room: str) -> list[Frame]:
        return [f for f in self.frames if f["type"] == "message" and f["room"] == room]

    def seqs(self, room: str) -> list[int]:
        return [f["seq"] for f in self.messages(room)]

    async def close(self) -> None:
        await self.websocket.close()
        self._reader.cancel()

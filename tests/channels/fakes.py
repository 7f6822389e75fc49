"""Client ends of a websocket for the channel tests: one that reads everything, one that never reads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

WAIT = 10  # seconds; only a bound against hangs, never an expectation


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll check until it holds, for at most WAIT seconds."""

    async def poll() -> None:
        while True:
            if await check():
                return
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), WAIT)


class RecordingSocket:
    """A client that reads every frame at once and remembers it, and how it was closed."""

    def __init__(self) -> None:
        self.sent: list[str | bytes] = []
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.closed = asyncio.Event()
        self._arrived = asyncio.Event()

    async def send_text(self, data: str) -> None:
        if self.closed.is_set():
            raise RuntimeError("socket is closed")
        self.sent.append(data)
        self._arrived.set()

    async def send_bytes(self, data: bytes) -> None:
        if self.closed.is_set():
            raise RuntimeError("socket is closed")
        self.sent.append(data)
        self._arrived.set()

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.close_code = code
        self.close_reason = reason
        self.closed.set()

    def frames(self) -> list[dict[str, Any]]:
        return [json.loads(item) for item in self.sent]

    async def wait_for(self, count: int) -> list[dict[str, Any]]:
        """Wait (at most WAIT seconds, against hangs) until count frames arrived; returns all of them."""

        async def arrived() -> None:
            while len(self.sent) < count:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(arrived(), WAIT)
        return self.frames()


class StalledSocket(RecordingSocket):
    """A client that stopped reading: every send waits forever, as on a full TCP window."""

    async def send_text(self, data: str) -> None:
        await asyncio.Event().wait()

    async def send_bytes(self, data: bytes) -> None:
        await asyncio.Event().wait()


class BrokenSocket(RecordingSocket):
    """A client that has gone away: sending fails."""

    async def send_text(self, data: str) -> None:
        raise ConnectionResetError("client went away")

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        raise ConnectionResetError("client went away")  # no close frame reaches a client that is gone


class FaultySocket(RecordingSocket):
    """A socket whose sending fails for another reason than the client leaving (a bug, say)."""

    async def send_text(self, data: str) -> None:
        raise RuntimeError("unexpected")

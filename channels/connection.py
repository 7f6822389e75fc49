"""One client socket: a bounded outbox drained by its own writer task, closed with "resume" when full."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

from websockets.frames import Frame, Opcode

from channels.protocol import CloseCode

log = logging.getLogger(__name__)

Outgoing = str | bytes
"""A pre-encoded frame: str goes out as a text websocket message, bytes as a binary one."""

WriteNowait = Callable[[bytes], bool]
"""Writes a serialized websocket frame at once if the socket can take it; False if it would wait."""

DEFAULT_MAX_QUEUE = 1000


class Socket(Protocol):
    """The little the connection needs from a websocket; Starlette's WebSocket fits as is."""

    async def send_text(self, data: str) -> None: ...

    async def send_bytes(self, data: bytes) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class Connection:
    """Frames are queued without waiting and written by the connection's own task, so a slow socket slows only itself.

    The writer task exists while there is something to write and ends when the outbox is empty:
    most sockets are idle most of the time, and an idle socket should hold no task, queue or
    event (see docs/benchmarks.md, memory per idle socket). Past max_queue unsent frames (held
    ones included) the client is too far behind to be worth waiting for: it is closed at once
    with CloseCode.RESUME, and reconnects and resumes from the last seq it saw. Use it as
    `async with Connection(websocket) as connection:`.
    """

    __slots__ = (
        "_closed",
        "_closer",
        "_closing",
        "_done",
        "_floors",
        "_held",
        "_held_count",
        "_in_flight",
        "_outbox",
        "_write_nowait",
        "_writer",
        "close_code",
        "close_timeout",
        "max_queue",
        "socket",
        "topics",
    )

    def __init__(
        self,
        socket: Socket,
        *,
        max_queue: int = DEFAULT_MAX_QUEUE,
        close_timeout: float = 5.0,
        write_nowait: WriteNowait | None = None,
    ) -> None:
        self.socket = socket
        self._write_nowait = write_nowait
        self.max_queue = max_queue
        self.close_timeout = close_timeout
        self.topics: set[str] = set()  # kept by the hub
        self.close_code: int | None = None
        # A list, not a deque or an asyncio.Queue: empty, it is the smallest container (56 bytes).
        self._outbox: list[Outgoing] = []
        self._in_flight = 0  # frames the writer took from the outbox and has not written yet
        self._held: dict[str, list[tuple[Outgoing, int | None]]] | None = None
        self._held_count = 0
        # topic → the highest seq the client was sent from history (see release): made on first use.
        self._floors: dict[str, int] | None = None
        self._closing = False
        self._closed = False
        self._done: asyncio.Future[None] | None = None  # made only when someone waits for the close
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close(CloseCode.INTERNAL if exc_type is not None else CloseCode.NORMAL)

    @property
    def closed(self) -> bool:
        """True once no more frames will be accepted (closing or closed)."""
        return self._closing

    @property
    def writing(self) -> bool:
        """True while the writer task is at work (frames are queued or being written)."""
        return self._writer is not None

    @property
    def pending(self) -> int:
        """Frames accepted but not yet written, held ones included."""
        return len(self._outbox) + self._in_flight + self._held_count

    async def wait_closed(self) -> None:
        if self._closed:
            return
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._done)

    # --- sending ------------------------------------------------------------------------------

    def send(self, frame: Outgoing, wire: bytes | None = None) -> bool:
        """Queue a frame for this client without waiting; False if the client is gone or was too slow.

        wire: the same text frame already serialized for the websocket (see text_frame), written
        straight to the socket when nothing is queued before it and the socket can take it now.
        """
        if self._closing:
            return False
        if wire is not None and self._writer is None and self._write_nowait is not None and self._write_nowait(wire):
            return True  # nothing was queued (no writer), so nothing is overtaken
        if self.pending >= self.max_queue:
            self.abort(CloseCode.RESUME, "too far behind; reconnect and resume")
            return False
        self._outbox.append(frame)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="connection-writer")
        return True

    def deliver(self, topic: str, frame: Outgoing, wire: bytes | None = None, seq: int | None = None) -> bool:
        """A live frame for topic, from the hub: held while the topic is on hold, else sent (see send).

        seq: set when the frame announces that seq for the first time (a new message); such a
        frame is dropped (False) when seq is at or below the topic's floor, since the client got
        that seq from history already (see release). Changes to a seq (a removal, an approval)
        come with seq None and are always delivered.
        """
        if seq is not None and self._floors is not None and seq <= self._floors.get(topic, 0):
            return False
        held = self._held.get(topic) if self._held else None
        if held is None:
            return self.send(frame, wire)
        if self._closing:
            return False
        if self.pending >= self.max_queue:
            self.abort(CloseCode.RESUME, "too far behind; reconnect and resume")
            return False
        held.append((frame, seq))
        self._held_count += 1
        return True

    def hold(self, topic: str) -> None:
        """Keep live frames of topic aside, e.g. while the history before them is being sent."""
        if self._held is None:
            self._held = {}
        self._held.setdefault(topic, [])

    def release(self, topic: str, keep: Callable[[Outgoing], bool] | None = None, *, floor: int | None = None) -> None:
        """Queue the frames held for topic (those keep() accepts, in order) and stop holding it.

        floor: the highest seq of topic the client was just sent from history (a join's head).
        From now until the topic is forgotten, first announcements of seqs at or below it are
        dropped, whether they were held or come later: a message is committed before it is
        published, so its publication can reach this process after the history that already
        had it was read and sent, well after the hold ended.
        """
        held = self._held.pop(topic, []) if self._held else []
        if not self._held:
            self._held = None
        self._held_count -= len(held)
        if floor is not None:
            if self._floors is None:
                self._floors = {}
            self._floors[topic] = floor
        for frame, seq in held:
            if floor is not None and seq is not None and seq <= floor:
                continue
            if keep is None or keep(frame):
                self.send(frame)

    def forget(self, topic: str) -> None:
        """Drop what is kept for topic (its hold and its floor); the hub calls it when the connection leaves topic."""
        if self._held is not None and topic in self._held:
            self._held_count -= len(self._held.pop(topic))
            if not self._held:
                self._held = None
        if self._floors is not None:
            self._floors.pop(topic, None)
            if not self._floors:
                self._floors = None

    # --- closing ------------------------------------------------------------------------------

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Write what is already queued (for at most close_timeout), then close the socket with code."""
        if not self._closing:
            self._closing = True
            self.close_code = code
            self._closer = asyncio.create_task(self._finish(code, reason, flush=True))
        await self.wait_closed()

    def abort(self, code: int = CloseCode.RESUME, reason: str = "") -> None:
        """Close now without writing what is queued; never waits, so it is safe from a fan-out loop."""
        if self._closing:
            return
        self._closing = True
        self.close_code = code
        self._closer = asyncio.create_task(self._finish(code, reason, flush=False))

    async def _finish(self, code: int, reason: str, *, flush: bool) -> None:
        writer = self._writer
        try:
            if writer is not None and not writer.done():
                if flush:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(writer), self.close_timeout)
                if not writer.done():
                    writer.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await writer
            if self.close_code is not None:
                # A stalled client may not take the close frame either; do not wait on it forever.
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(self.close_timeout):
                        await self.socket.close(code, reason)
        finally:
            self._set_closed()

    def _set_closed(self) -> None:
        self._outbox = []
        self._in_flight = 0
        self._held = None
        self._held_count = 0
        self._floors = None
        self._closed = True
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    async def _write(self) -> None:
        socket = self.socket
        try:
            while self._outbox:
                frames, self._outbox = self._outbox, []
                self._in_flight = len(frames)
                for frame in frames:
                    if isinstance(frame, str):
                        await socket.send_text(frame)
                    else:
                        await socket.send_bytes(frame)
                    self._in_flight -= 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Usually the client went away: there is nobody to send a close frame to, and closing
            # does nothing. After any other failure the close ends the socket, so the client
            # reconnects and the endpoint's pending receive returns instead of waiting forever.
            log.debug("websocket send failed: %r", exc)
            if not self._closing:
                self._closing = True
                self.close_code = None
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(self.close_timeout):
                        await self.socket.close(CloseCode.INTERNAL, "internal error")
                self._set_closed()
        finally:
            self._in_flight = 0
            if self._writer is asyncio.current_task():
                self._writer = None


def text_frame(payload: bytes) -> bytes:
    """payload as one serialized server-to-client websocket text frame (final, unmasked, uncompressed)."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False)

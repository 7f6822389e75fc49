"""A member who chats in one room by the rules of docs/protocol.md (Resuming), through drops and restarts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from server import auth

GAP_WAIT = 3.0  # seconds a gap may stay open before joining again (docs/protocol.md, Gaps)
# Refusals of a send that the protocol says to try again (not_found: the room is being joined again).
RETRY_SEND = {"rate_limited", "unavailable", "slow_mode", "not_found"}


@dataclass
class Tally:
    connections: int = 0
    connect_errors: int = 0
    announces: int = 0  # joined frames the server sent unasked (its live feed was interrupted)
    # The same seq twice on one connection between two joined: the protocol promises none.
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)  # codes of the error frames it got
    close_codes: list[int | None] = field(default_factory=list)


class ChatMember:
    """Stays connected to url (reconnecting after every close), joins again with since = last_seq,
    follows the server's head announcements and fills gaps, and sends its pending messages again with
    the same client_id after a reconnect. got: seq → body, every message it has seen."""

    def __init__(self, url: str, origin: str, session: str, room: str) -> None:
        self.url = url
        self.origin = origin
        self.session = session
        self.room = room
        self.got: dict[int, str] = {}
        self.acked: dict[str, int] = {}  # client_id → seq
        self.pending: dict[str, str] = {}  # client_id → body, until acked
        self.sent: dict[str, str] = {}  # client_id → body, every message it wrote
        self.epoch: str | None = None
        self.last_seq: int | None = None  # every seq up to here is here
        self.tally = Tally()
        self._joining = 0
        self._span: set[int] = set()
        self._gap_timer: asyncio.TimerHandle | None = None
        self._websocket: ClientConnection | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._later: set[asyncio.Future[None]] = set()
        # What each connection was sent, in order (connection number, frame): to explain a failed check.
        self.trace: list[tuple[int, dict[str, Any]]] = []

    # --- driving ----------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stopping = True
        if self._websocket is not None:
            with contextlib.suppress(Exception):
                await self._websocket.close()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)

    async def say(self, body: str) -> None:
        client_id = str(uuid.uuid4())
        self.pending[client_id] = self.sent[client_id] = body
        await self._send({"type": "send", "room": self.room, "client_id": client_id, "body": body})

    async def until(self, condition: Any, timeout: float) -> None:
        async def wait() -> None:
            while not condition():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)

    def joined(self) -> bool:
        return self.last_seq is not None and self._joining == 0 and self._websocket is not None

    async def flush(self, timeout: float = 30) -> None:
        """Until every message it sent is acked (sent again after each reconnect meanwhile)."""
        await self.until(lambda: not self.pending, timeout)

    async def catch_up(self, head: int, timeout: float = 30) -> None:
        """Until it holds every seq up to head."""
        await self.until(lambda: self.last_seq is not None and self.last_seq >= head, timeout)

    # --- connection -------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            try:
                websocket = await websockets.connect(
                    self.url,
                    origin=self.origin,  # type: ignore[arg-type]
                    additional_headers={"Cookie": f"{auth.SESSION_COOKIE}={self.session}"},
                    open_timeout=10,
                    ping_interval=None,
                )
            except (OSError, TimeoutError, websockets.WebSocketException):
                self.tally.connect_errors += 1
                await asyncio.sleep(0.2)
                continue
            self.tally.connections += 1
            self._websocket = websocket
            self._joining = 0
            try:
                await self._join()
                for client_id, body in list(self.pending.items()):
                    await self._send({"type": "send", "room": self.room, "client_id": client_id, "body": body})
                async for raw in websocket:
                    await self._on_frame(json.loads(raw))
            except websockets.ConnectionClosed:
                pass
            finally:
                self.tally.close_codes.append(websocket.close_code)
                self._websocket = None
                self._changed.set()
            if not self._stopping:
                await asyncio.sleep(0.05)  # 1012: another process answers at once

    async def _send(self, frame: dict[str, Any]) -> None:
        if self._websocket is not None:
            with contextlib.suppress(websockets.ConnectionClosed):
                await self._websocket.send(json.dumps(frame))

    async def _join(self) -> None:
        self.trace.append((self.tally.connections, {"type": "sent join", "since": self.last_seq}))
        self._joining += 1
        since = self.last_seq
        epoch = self.epoch if since is not None else None
        await self._send({"type": "join", "room": self.room, "since": since, "epoch": epoch})

    # --- frames -----------------------------------------------------------------------------

    async def _on_frame(self, frame: dict[str, Any]) -> None:
        self.trace.append((self.tally.connections, frame))
        kind = frame["type"]
        if kind == "joined" and frame["room"] == self.room:
            head = int(frame["head_seq"])
            # The answer to a join names whose socket it is; the head told again after a Redis outage does not.
            if self._joining and frame.get("user_id") is not None:
                self._joining -= 1
                self._span = set()
                self.epoch = frame["epoch"]
                if self.last_seq is None:
                    self.last_seq = head
            else:
                self.tally.announces += 1
                if self.last_seq is not None and head > self.last_seq:
                    await self._join()  # rule 5: the head again, something is missing
        elif kind == "message" and frame["room"] == self.room:
            self._on_seq(int(frame["seq"]), frame["body"])
        elif kind == "ack":
            self.acked[frame["client_id"]] = int(frame["seq"])
            self.pending.pop(frame["client_id"], None)
        elif kind == "error":
            self.tally.errors.append(str(frame.get("code")))
            ref = frame.get("ref")
            if ref == self.room and self._joining:
                self._joining -= 1  # a refused join (a process shutting down): try again shortly
                asyncio.get_running_loop().call_later(0.5, self._join_later)
            elif ref in self.pending and frame.get("code") in RETRY_SEND:
                # "Yes, with the same client_id" (docs/protocol.md, error codes), after a pause.
                asyncio.get_running_loop().call_later(1.0, self._send_later, ref)
        self._changed.set()

    def _on_seq(self, seq: int, body: str) -> None:
        if seq in self._span:
            self.tally.duplicates += 1
        self._span.add(seq)
        self.got[seq] = body
        if self.last_seq is None:
            return
        while self.last_seq + 1 in self.got:
            self.last_seq += 1
        if self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None
        if any(held > self.last_seq for held in self.got):
            self._gap_timer = asyncio.get_running_loop().call_later(GAP_WAIT, self._repair_gap)

    def _repair_gap(self) -> None:
        self._gap_timer = None
        if self._joining == 0:
            self._join_later()

    def _send_later(self, client_id: str) -> None:
        body = self.pending.get(client_id)
        if body is not None:
            frame = {"type": "send", "room": self.room, "client_id": client_id, "body": body}
            task = asyncio.ensure_future(self._send(frame))
            self._later.add(task)
            task.add_done_callback(self._later.discard)

    def _join_later(self) -> None:
        task = asyncio.ensure_future(self._join())
        self._later.add(task)
        task.add_done_callback(self._later.discard)

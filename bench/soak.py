"""Soak: Kindred processes under members who join, leave, send, drop and resume for minutes; leaks and lost messages.

`make soak` (or `python -m bench.soak --help`). Starts two (--processes) Kindred web processes as the
Procfile runs them, on a private Postgres and Redis (bench/_setup.py, as bench/live.py does), seeds
--rooms communities with one live room each and --clients members of all of them, and for --seconds
drives every member as a client of the protocol (docs/protocol.md): it connects to a random process,
joins one to three rooms (resuming with since and epoch), sends, leaves and joins rooms, re-joins a
room it is in, types, and after a while drops its connection (a clean close, an abrupt one, or an
abrupt one right after a send whose ack it never sees), then reconnects and resumes, re-sending its
pending messages with the same client_id. Every --sample-every seconds it records, per process, RSS,
asyncio tasks, open sockets and the live service's state (from /metrics), and its Redis and Postgres
connections. At the end every member flushes its pending messages and resumes every room it ever
joined, then leaves, and the checks are:

- memory is flat: per process, the median RSS of the last third of the samples taken under load after
  the warm-up (--warmup, a fraction of the run) is at most 5 % above the median of the first third;
- nothing leaks: once every client has left, each process's open sockets, live clients, hub topics and
  memberships, broker channels and presence entries are back at their values before the first client,
  and its asyncio tasks at most that many;
- no acknowledged message is lost or duplicated: each acked client_id is stored once, with its acked
  seq, every room's seqs run 1..head without a gap, every member's view of every room it joined ends
  at the head with every seq since its first join (no gap left after resuming), no seq arrives twice
  on one connection between two `joined`, and none at or below the `since` of its join after it.

Figures go to the terminal and bench/results/soak-<time>.json; --write-docs writes the "## Soak"
section of docs/benchmarks.md. The exit status is 0 when every check passes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import psutil  # type: ignore[import-untyped]
import uvloop
import websockets
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection

from bench import _setup
from bench._docs import DOC, HEADER, replace_section
from bench.client import SESSION_COOKIE

RESULTS_DIR = _setup.ROOT / "bench" / "results"
SLUG_PREFIX = "soak-"
HEADING = "## Soak"
# Memory is flat when the last third's median RSS is at most this much above the first third's.
FLAT_GROWTH = 0.05
# Fewer samples than this under load after the warm-up: too short a run to judge memory by.
MIN_JUDGED_SAMPLES = 6
# The live state that must be back at its value before the first client once every client has left.
LIVE_STATE = (
    "kindred_open_sockets",
    "kindred_live_clients",
    "kindred_live_users",
    "kindred_hub_topics",
    "kindred_hub_memberships",
    "kindred_broker_channels",
    "kindred_presence_rooms",
    "kindred_presence_members",
)
TASKS = "kindred_asyncio_tasks"
GAP_WAIT = 3.0  # docs/protocol.md, Resuming rule 4
RETRY_JOIN = {"unavailable", "rate_limited"}  # join refusals a client asks again after a pause


@dataclass
class Config:
    seconds: float = 600.0
    processes: int = 2
    rooms: int = 24
    clients: int = 120
    sample_every: float = 10.0
    warmup: float = 0.2
    think: tuple[float, float] = (1.0, 4.0)
    life: tuple[float, float] = (5.0, 45.0)
    settle: float = 60.0
    seed: int | None = None
    write_docs: bool = False
    json_out: Path | None = None
    database_url: str | None = None
    redis_url: str | None = None
    redis_prefix: str = "soak:"


# --- seeding ---------------------------------------------------------------------------------


@dataclass
class Seeded:
    rooms: list[str]
    tokens: list[str]


async def seed(database_url: str, *, rooms: int, clients: int) -> Seeded:
    """`rooms` communities of one main room each (slow mode off, no first-post hold), and `clients`
    members of every one of them, each with a session."""
    from server.passwords import hash_password

    connection = await asyncpg.connect(database_url)
    try:
        async with connection.transaction():
            user_ids = await _setup._users(connection, "soak-", clients, hash_password(_setup.BENCH_PASSWORD))
            names = []
            for number in range(1, rooms + 1):
                slug = f"{SLUG_PREFIX}{number}"
                community_id, _ = await _setup._community(connection, slug)
                await _setup._members(connection, community_id, user_ids)
                names.append(f"{slug}/main")
            tokens = await _setup._sessions(connection, user_ids)
    finally:
        await connection.close()
    return Seeded(names, tokens)


# --- one member ------------------------------------------------------------------------------


@dataclass
class RoomView:
    """What one member holds of one room, kept by the rules of docs/protocol.md (Resuming)."""

    epoch: str | None = None
    last_seq: int | None = None  # every seq up to here is accounted for; None before the first joined
    first_head: int = 0
    held: set[int] = field(default_factory=set)  # seqs above last_seq that came early
    gap_at: float | None = None
    span: set[int] = field(default_factory=set)  # seqs this connection got since its last joined
    since: int | None = None  # the since of the join the last joined answered
    joining: list[int | None] = field(default_factory=list)  # since of each join sent and not yet answered
    joined: bool = False


@dataclass
class Tally:
    """Everything counted on the client side, summed over members at the end."""

    connections: int = 0
    connect_errors: int = 0
    clean_closes: int = 0
    aborts: int = 0
    aborts_after_send: int = 0
    joins: int = 0
    rejoins: int = 0
    leaves: int = 0
    gap_repairs: int = 0
    sends: int = 0
    retries: int = 0
    typing: int = 0
    messages_received: int = 0
    history: int = 0  # the recent messages a first join (without since) is sent
    redelivered: int = 0  # a seq at or below last_seq from a later join: expected, dropped (rule 3)
    duplicates: int = 0  # the same seq twice on one connection between two joined
    below_since: int = 0  # a seq at or below since after the joined that answered it
    resyncs: int = 0
    join_retries: int = 0  # joins answered unavailable or rate_limited, sent again a second later
    ack_mismatches: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    close_codes: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        for item in fields(self):
            mine, theirs = getattr(self, item.name), getattr(other, item.name)
            if isinstance(mine, Counter):
                mine.update(theirs)
            else:
                setattr(self, item.name, mine + theirs)

    def as_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it rebuilds a Counter from its items, counting (key, count) pairs as keys.
        return {
            item.name: dict(value) if isinstance(value := getattr(self, item.name), Counter) else value
            for item in fields(self)
        }


class Member:
    """One seeded member as a protocol client: connects, joins, sends, drops and resumes."""

    def __init__(self, index: int, token: str, rooms: list[str], urls: list[str], config: Config, acks: Acks) -> None:
        self.index = index
        self.token = token
        self.all_rooms = rooms
        self.urls = urls
        self.config = config
        self.acks = acks
        self.random = random.Random(None if config.seed is None else config.seed * 100_003 + index)
        self.views: dict[str, RoomView] = {}
        self.current: list[str] = []  # rooms this member shows (joins on every connection)
        self.pending: dict[str, tuple[str, str]] = {}  # client_id → (room, body), until acked
        self.tally = Tally()
        self.websocket: ClientConnection | None = None
        self.outbox: asyncio.Queue[str] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self.changed = asyncio.Event()
        self.catching_up = False  # the end: every room it ever joined is to be resumed, not only those shown

    # --- frames ---------------------------------------------------------------------------

    def on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "message" or kind == "remove":
            self._on_seq(frame["room"], frame["seq"])
            self.tally.messages_received += kind == "message"
        elif kind == "joined":
            self._on_joined(frame)
        elif kind == "ack":
            self._on_ack(frame)
        elif kind == "resync":
            self._on_resync(frame)
        elif kind == "error":
            self._on_error(frame)
        self.changed.set()

    def _on_seq(self, room: str, seq: int) -> None:
        view = self.views.get(room)
        if view is None or view.last_seq is None:
            return  # frames of a room before its first joined (none are expected)
        if seq in view.span:
            self.tally.duplicates += 1
        view.span.add(seq)
        if view.since is not None and seq <= view.since and not view.joining:
            self.tally.below_since += 1
        if seq <= view.last_seq:
            if view.since is None and seq <= view.first_head:
                self.tally.history += 1
            else:
                self.tally.redelivered += 1
            return
        if seq == view.last_seq + 1:
            view.last_seq = seq
            while view.last_seq + 1 in view.held:
                view.last_seq += 1
                view.held.discard(view.last_seq)
        else:
            view.held.add(seq)
        view.held = {held for held in view.held if held > view.last_seq}
        view.gap_at = (view.gap_at or time.monotonic()) if view.held else None

    def _on_joined(self, frame: dict[str, Any]) -> None:
        view = self.views.setdefault(frame["room"], RoomView())
        head = int(frame["head_seq"])
        if not view.joining:
            # The server telling the head again (rule 5): join again if something is missing.
            missing = view.last_seq is not None and (frame["epoch"] != view.epoch or head > view.last_seq)
            if missing and frame["room"] in self.current:
                self._send_join(frame["room"])
            return
        view.since = view.joining.pop(0)
        view.span = set()
        view.joined = True
        if view.last_seq is None:
            view.last_seq = view.first_head = head
            view.held.clear()
        view.epoch = frame["epoch"]

    def _on_ack(self, frame: dict[str, Any]) -> None:
        client_id = frame["client_id"]
        room_seq = (frame["room"], int(frame["seq"]))
        known = self.acks.seqs.setdefault(client_id, room_seq)
        if known != room_seq:
            self.tally.ack_mismatches += 1
        self.pending.pop(client_id, None)

    def _on_resync(self, frame: dict[str, Any]) -> None:
        self.tally.resyncs += 1
        view = self.views.get(frame["room"])
        if view is not None:
            if view.joining:
                view.joining.pop(0)
            # Start the room afresh; its messages before the new join are no longer this view's to check.
            self.views[frame["room"]] = RoomView()
            if frame["room"] in self.current:
                self._send_join(frame["room"])

    def _on_error(self, frame: dict[str, Any]) -> None:
        self.tally.errors[str(frame.get("code"))] += 1
        ref = frame.get("ref")
        view = self.views.get(ref) if isinstance(ref, str) else None
        if view is not None and view.joining and ref not in self.pending:
            view.joining.pop(0)  # a refused join leaves the room (docs/protocol.md, join)
            view.joined = False
            if frame.get("code") in RETRY_JOIN and isinstance(ref, str):
                # "Yes, after a pause" (docs/protocol.md, error codes): a busy server is asked again.
                asyncio.get_running_loop().call_later(1.0, self._retry_join, ref, self.websocket)

    def _retry_join(self, room: str, websocket: ClientConnection | None) -> None:
        if websocket is not None and websocket is self.websocket and (room in self.current or self.catching_up):
            self.tally.join_retries += 1
            self._send_join(room)

    # --- actions --------------------------------------------------------------------------

    def _send(self, frame: dict[str, Any]) -> None:
        # One writer per connection sends the frames in the order they were made.
        if self.websocket is not None:
            self.outbox.put_nowait(json.dumps(frame))

    async def _write(self, websocket: ClientConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                text = await self.outbox.get()
                try:
                    await websocket.send(text)
                finally:
                    self.outbox.task_done()

    def _send_join(self, room: str) -> None:
        view = self.views.setdefault(room, RoomView())
        since = view.last_seq
        view.joining.append(since)
        self.tally.joins += 1
        self._send({"type": "join", "room": room, "since": since, "epoch": view.epoch if since is not None else None})

    def _send_message(self, room: str, client_id: str | None = None) -> str:
        if client_id is None:
            client_id = str(uuid.UUID(int=self.random.getrandbits(128)))
            self.pending[client_id] = (room, f"soak {self.index} {client_id}")
            self.tally.sends += 1
        else:
            self.tally.retries += 1
        body = self.pending[client_id][1]
        self._send({"type": "send", "room": room, "client_id": client_id, "body": body})
        return client_id

    def _resend_pending(self) -> None:
        for client_id, (room, _body) in list(self.pending.items()):
            if room not in self.current:
                self.current.append(room)
                self._send_join(room)
            self._send_message(room, client_id)

    def _repair_gaps(self) -> None:
        now = time.monotonic()
        for room in self.current:
            view = self.views.get(room)
            if view is not None and view.gap_at is not None and now - view.gap_at > GAP_WAIT and not view.joining:
                self.tally.gap_repairs += 1
                view.gap_at = None
                self._send_join(room)

    def _joined(self) -> list[str]:
        """Rooms shown whose last join was answered with joined and that have no join on its way."""
        return [room for room in self.current if self.views[room].joined and not self.views[room].joining]

    def _act(self) -> None:
        roll = self.random.random()
        joined = self._joined()
        if roll < 0.6 and joined:
            self._send_message(self.random.choice(joined))
        elif roll < 0.7 and len(self.current) > 1:
            room = self.random.choice(self.current)
            self.current.remove(room)
            view = self.views[room]
            view.joined = False
            self.tally.leaves += 1
            self._send({"type": "leave", "room": room})
        elif roll < 0.8 and len(self.current) < min(4, len(self.all_rooms)):
            room = self.random.choice([room for room in self.all_rooms if room not in self.current])
            self.current.append(room)
            self._send_join(room)
        elif roll < 0.9 and joined:
            self.tally.rejoins += 1
            self._send_join(self.random.choice(joined))
        elif joined:
            self.tally.typing += 1
            self._send({"type": "typing", "room": self.random.choice(joined)})

    # --- connections ----------------------------------------------------------------------

    async def _connect(self) -> ClientConnection:
        websocket = await websockets.connect(
            self.random.choice(self.urls),
            origin=_setup.BENCH_ORIGIN,  # type: ignore[arg-type]
            additional_headers={"Cookie": f"{SESSION_COOKIE}={self.token}"},
            open_timeout=30,
            max_size=1 << 20,
            ping_interval=None,
        )
        self.tally.connections += 1
        for view in self.views.values():
            view.joining.clear()
            view.joined = False
        self.websocket = websocket
        self.outbox = asyncio.Queue()
        self._reader = asyncio.create_task(self._read(websocket))
        self._writer = asyncio.create_task(self._write(websocket))
        return websocket

    async def _disconnected(self) -> None:
        """After a close or an abort: the reader has seen the end, the writer is stopped."""
        if self._reader is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._reader), 10)
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        self.websocket = None

    async def _read(self, websocket: ClientConnection) -> None:
        try:
            async for raw in websocket:
                self.on_frame(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
        finally:
            code = websocket.close_code
            self.tally.close_codes[str(code)] += 1
            self.changed.set()

    async def _session(self, until: float) -> None:
        websocket = await self._connect()
        reader = self._reader
        assert reader is not None
        try:
            if not self.current:
                self.current = self.random.sample(self.all_rooms, self.random.randint(1, min(3, len(self.all_rooms))))
            for room in self.current:
                self._send_join(room)
            self._resend_pending()
            end = min(until, time.monotonic() + self.random.uniform(*self.config.life))
            while time.monotonic() < end and not reader.done():
                await asyncio.sleep(min(self.random.uniform(*self.config.think), max(0.0, end - time.monotonic())))
                if reader.done():
                    break
                self._repair_gaps()
                if time.monotonic() < end:
                    self._act()
            if reader.done():
                return
            roll = self.random.random()
            if time.monotonic() >= until or roll < 0.4:
                self.tally.clean_closes += 1
                await websocket.close()
            else:
                if roll < 0.7 and self.current:
                    # A send whose ack this connection will never see: the retry after resuming must not double it.
                    joined = self._joined()
                    if joined:
                        self._send_message(self.random.choice(joined))
                        with contextlib.suppress(asyncio.TimeoutError):
                            await asyncio.wait_for(self.outbox.join(), 5)  # written, not yet answered
                        self.tally.aborts_after_send += 1
                self.tally.aborts += 1
                websocket.transport.abort()
        finally:
            await self._disconnected()

    async def run(self, until: float) -> None:
        """Sessions, one after the other, until `until` (loop time)."""
        await asyncio.sleep(self.random.uniform(0, min(5.0, self.config.think[1])))
        while time.monotonic() < until:
            try:
                await self._session(until)
            except (TimeoutError, OSError, websockets.WebSocketException):
                self.tally.connect_errors += 1
            await asyncio.sleep(self.random.uniform(0.2, 2.0))

    async def _wait(self, done: Any, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))
        return True

    async def flush(self, seconds: float = 60.0) -> bool:
        """Connect, rejoin every room it shows, re-send until every pending message is acked (rate limits
        permitting: refused sends are sent again a second later)."""
        await self._connect()
        for room in self.current:
            self._send_join(room)
        deadline = time.monotonic() + seconds
        while self.pending and time.monotonic() < deadline:
            self._resend_pending()
            await self._wait(lambda: not self.pending, 2.0)
        return not self.pending

    async def catch_up(self, heads: dict[str, int], seconds: float = 60.0) -> bool:
        """Resume every room it ever joined and wait until each view reaches the room's final head; then leave."""
        self.catching_up = True
        for room in self.views:
            self._send_join(room)

        def caught_up() -> bool:
            return all(
                view.last_seq is not None and view.last_seq >= heads.get(room, 0) and not view.joining
                for room, view in self.views.items()
            )

        ok = await self._wait(caught_up, seconds)
        if self.websocket is not None:
            await self.websocket.close()
            await self._disconnected()
        return ok

    def lost(self, heads: dict[str, int]) -> int:
        """Seqs of rooms it joined that it is missing, from its first join to the room's head."""
        return sum(max(0, heads.get(room, 0) - (view.last_seq or 0)) for room, view in self.views.items())


@dataclass
class Acks:
    """Every ack any member got: client_id → (room, seq)."""

    seqs: dict[str, tuple[str, int]] = field(default_factory=dict)


# --- the server side -------------------------------------------------------------------------


def _port(url: str) -> int:
    return urlsplit(url).port or 0


def connections_to(pid: int, port: int) -> int:
    """Established TCP connections of process pid (and its children) to a local port."""
    total = 0
    with contextlib.suppress(psutil.Error):
        process = psutil.Process(pid)
        for proc in [process, *process.children(recursive=True)]:
            total += sum(
                1
                for conn in proc.net_connections(kind="tcp")
                if conn.raddr and conn.raddr.port == port and conn.status == psutil.CONN_ESTABLISHED
            )
    return total


async def scrape(http: httpx.AsyncClient, port: int) -> tuple[dict[str, float], dict[str, float]]:
    """Each metric of one process summed over its samples, and its tasks by coroutine."""
    text = (await http.get(f"http://127.0.0.1:{port}/metrics", timeout=10)).text
    totals: dict[str, float] = {}
    tasks: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        totals[family.name] = sum(sample.value for sample in family.samples)
        if family.name == TASKS:
            tasks = {sample.labels["coroutine"]: sample.value for sample in family.samples}
    return totals, tasks


class Servers:
    """The Kindred processes, their Postgres and Redis, and the samples taken of them."""

    def __init__(self, config: Config, urls: dict[str, str], log_dir: Path) -> None:
        self.config = config
        self.urls = urls
        self.log_dir = log_dir
        self.processes: list[_setup.ServerProcess] = []
        # No keep-alive: a connection idle between samples may be closed by the server as it is reused.
        self.http = httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0))
        self.started = time.monotonic()

    async def start(self) -> None:
        for _ in range(self.config.processes):
            self.processes.append(
                await asyncio.to_thread(
                    _setup.start_kindred,
                    self.urls["database"],
                    self.urls["redis"],
                    self.config.redis_prefix,
                    self.log_dir,
                )
            )

    async def stop(self) -> None:
        await self.http.aclose()
        await asyncio.gather(*(asyncio.to_thread(process.stop) for process in self.processes))

    async def sample(self, phase: str, **extra: Any) -> dict[str, Any]:
        """One sample of every process: RSS, the metrics, Redis and Postgres connections."""
        redis_port, pg_port = _port(self.urls["redis"]), _port(self.urls["database"])
        per_process = []
        for process in self.processes:
            totals, tasks = await scrape(self.http, process.port)
            per_process.append(
                {
                    "port": process.port,
                    "rss_mib": round(process.rss() / 2**20, 2),
                    "tasks": int(totals.get(TASKS, 0)),
                    "tasks_by_coroutine": tasks,
                    **{name: int(totals.get(name, 0)) for name in LIVE_STATE},
                    "redis_connections": connections_to(process.pid, redis_port),
                    "postgres_connections": connections_to(process.pid, pg_port),
                }
            )
        return {"t": round(time.monotonic() - self.started, 1), "phase": phase, "processes": per_process, **extra}

    async def heads(self) -> dict[str, int]:
        connection = await asyncpg.connect(self.urls["database"])
        try:
            rows = await connection.fetch(
                """SELECT c.slug || '/' || r.slug AS room, coalesce(max(m.seq), 0) AS head
                   FROM rooms r JOIN communities c ON c.id = r.community_id
                   LEFT JOIN room_messages m ON m.room_id = r.id
                   WHERE c.slug LIKE $1 GROUP BY 1""",
                SLUG_PREFIX + "%",
            )
        finally:
            await connection.close()
        return {row["room"]: int(row["head"]) for row in rows}

    async def stored(self, acks: Acks) -> dict[str, Any]:
        """What Postgres holds against what was acked: each ack stored once with its seq, seqs without gaps."""
        connection = await asyncpg.connect(self.urls["database"])
        try:
            rows = await connection.fetch(
                """SELECT c.slug || '/' || r.slug AS room, m.seq, m.client_msg_id
                   FROM room_messages m JOIN rooms r ON r.id = m.room_id JOIN communities c ON c.id = r.community_id
                   WHERE c.slug LIKE $1 ORDER BY 1, 2""",
                SLUG_PREFIX + "%",
            )
        finally:
            await connection.close()
        by_client: Counter[str] = Counter(row["client_msg_id"] for row in rows)
        where = {row["client_msg_id"]: (row["room"], int(row["seq"])) for row in rows}
        seqs: dict[str, list[int]] = {}
        for row in rows:
            seqs.setdefault(row["room"], []).append(int(row["seq"]))
        return {
            "stored": len(rows),
            "stored_twice": sum(1 for count in by_client.values() if count > 1),
            "acked_not_stored": sum(1 for client_id in acks.seqs if client_id not in where),
            "acked_at_another_seq": sum(
                1 for client_id, room_seq in acks.seqs.items() if client_id in where and where[client_id] != room_seq
            ),
            "stored_not_acked": sum(1 for client_id in where if client_id not in acks.seqs),
            "rooms_with_gaps": sum(1 for room_seqs in seqs.values() if room_seqs != list(range(1, len(room_seqs) + 1))),
        }

    def errors_in_logs(self) -> list[str]:
        return summarize_errors(process.log_tail(2_000_000) for process in self.processes)


_CHAINED = ("The above exception", "During handling of the above exception")


def _last_exception(lines: list[str], start: int) -> str:
    """The exception line that ends the (possibly chained) traceback starting at lines[start]."""
    index = start + 1
    while index < len(lines):
        line = lines[index]
        if not line.strip() or line.startswith((" ", "Traceback", *_CHAINED)):
            index += 1
            continue
        following = next((later for later in lines[index + 1 :] if later.strip()), "")
        if not following.startswith(_CHAINED):
            return line.strip()
        index += 1
    return ""


def summarize_errors(logs: Iterable[str]) -> list[str]:
    """Each distinct logged failure once, with its count: the line logged before a traceback and the
    exception it ended with ("database unavailable while handling a Join frame: TimeoutError × 10")."""
    found: Counter[str] = Counter()
    for log in logs:
        lines = log.splitlines()
        for index, line in enumerate(lines):
            if line.startswith("Traceback"):
                before = lines[index - 1] if index else ""
                if before.startswith((" ", "The above exception")) or not before.strip():
                    continue  # the second traceback of a chained exception: counted with its first
                found[f"{before.strip()}: {_last_exception(lines, index)}"] += 1
            elif " ERROR " in f" {line} " or line.startswith("ERROR"):
                found[line.strip()] += 1
    return [f"{text} × {count}" for text, count in found.most_common(20)]


# --- the run ---------------------------------------------------------------------------------


def judge_memory(samples: list[dict[str, Any]], config: Config, processes: int) -> list[dict[str, Any]]:
    """Per process: the load samples after the warm-up, first third against last third (medians)."""
    warm = config.seconds * config.warmup
    load = [sample for sample in samples if sample["phase"] == "load" and sample["load_t"] >= warm]
    verdicts = []
    for index in range(processes):
        rss = [sample["processes"][index]["rss_mib"] for sample in load]
        times = [sample["load_t"] for sample in load]
        verdict: dict[str, Any] = {"process": index + 1, "samples": len(rss)}
        if len(rss) < MIN_JUDGED_SAMPLES:
            verdict.update(judged=False, flat=None)
        else:
            third = len(rss) // 3
            first, last = statistics.median(rss[:third]), statistics.median(rss[-third:])
            slope = statistics.linear_regression(times, rss).slope * 60 if len(set(times)) > 1 else 0.0
            verdict.update(
                judged=True,
                first_third_mib=round(first, 2),
                last_third_mib=round(last, 2),
                growth=round(last / first - 1, 4),
                slope_mib_per_min=round(slope, 3),
                flat=last <= first * (1 + FLAT_GROWTH),
            )
        verdicts.append(verdict)
    return verdicts


async def settle(servers: Servers, baseline: dict[str, Any], seconds: float) -> dict[str, Any]:
    """Sample until every process's live state is back at its baseline and its tasks at most the baseline's."""
    deadline = time.monotonic() + seconds
    while True:
        sample = await servers.sample("after")
        back = [
            all(now[name] == before[name] for name in LIVE_STATE) and now["tasks"] <= before["tasks"]
            for now, before in zip(sample["processes"], baseline["processes"], strict=True)
        ]
        if all(back) or time.monotonic() > deadline:
            sample["back_to_baseline"] = back
            return sample
        await asyncio.sleep(1.0)


async def drive(config: Config, results: dict[str, Any], urls: dict[str, str], log_dir: Path) -> None:
    seeded = await seed(urls["database"], rooms=config.rooms, clients=config.clients)
    servers = Servers(config, urls, log_dir)
    try:
        await servers.start()
        # One warm-up scrape each (the first builds the registry's output), then the baseline.
        await servers.sample("baseline")
        baseline = await servers.sample("baseline")
        results["baseline"] = baseline
        samples: list[dict[str, Any]] = [baseline]
        print(_row(baseline), flush=True)
        ws_urls = [process.ws_url for process in servers.processes]
        acks = Acks()
        members = [
            Member(index, token, seeded.rooms, ws_urls, config, acks) for index, token in enumerate(seeded.tokens)
        ]
        start = time.monotonic()
        until = start + config.seconds
        runs = [asyncio.create_task(member.run(until)) for member in members]
        next_sample = start + config.sample_every
        # The last sample under load comes before the end, when the members start closing.
        while next_sample < until - 0.5:
            await asyncio.sleep(max(0.0, next_sample - time.monotonic()))
            if True:
                sample = await servers.sample(
                    "load",
                    load_t=round(time.monotonic() - start, 1),
                    connected=sum(member.websocket is not None for member in members),
                    acked=len(acks.seqs),
                )
                samples.append(sample)
                print(_row(sample), flush=True)
                next_sample += config.sample_every
        await asyncio.gather(*runs)
        print("load over: flushing pending messages and resuming every room", flush=True)
        flushed = await asyncio.gather(*(member.flush() for member in members))
        heads = await servers.heads()
        caught_up = await asyncio.gather(*(member.catch_up(heads) for member in members))
        after = await settle(servers, baseline, config.settle)
        samples.append(after)
        print(_row(after), flush=True)
        tally = Tally()
        for member in members:
            tally.add(member.tally)
        stored = await servers.stored(acks)
        results.update(
            samples=samples,
            after=after,
            heads=heads,
            tally=tally.as_dict(),
            acked=len(acks.seqs),
            stored=stored,
            flushed=all(flushed),
            caught_up=all(caught_up),
            lost_in_views=sum(member.lost(heads) for member in members),
            memory=judge_memory(samples, config, config.processes),
            server_errors=servers.errors_in_logs(),
        )
    finally:
        await servers.stop()


def checks(results: dict[str, Any]) -> dict[str, bool]:
    tally, stored = results["tally"], results["stored"]
    return {
        "memory flat": all(verdict["flat"] is not False for verdict in results["memory"]),
        "live state and tasks back at baseline": all(results["after"]["back_to_baseline"]),
        "every pending message acked": results["flushed"],
        "every view caught up": results["caught_up"] and results["lost_in_views"] == 0,
        "acked messages stored once, at their seq": stored["acked_not_stored"] == 0
        and stored["stored_twice"] == 0
        and stored["acked_at_another_seq"] == 0
        and stored["stored_not_acked"] == 0,
        "rooms without gaps": stored["rooms_with_gaps"] == 0,
        "no duplicate on a connection": tally["duplicates"] == 0 and tally["below_since"] == 0,
        "acks agree": tally["ack_mismatches"] == 0,
    }


def _row(sample: dict[str, Any]) -> str:
    cells = [
        f"{p['rss_mib']:.1f} MiB {p['tasks']} tasks {p['kindred_open_sockets']} sockets "
        f"{p['kindred_hub_topics']} topics r{p['redis_connections']}/pg{p['postgres_connections']}"
        for p in sample["processes"]
    ]
    head = f"{sample['phase']:>8} t={sample.get('load_t', sample['t']):>6}"
    if "acked" in sample:
        head += f" acked={sample['acked']} connected={sample['connected']}"
    return head + " | " + " | ".join(cells)


async def run(config: Config) -> dict[str, Any]:
    _setup.raise_fd_limit()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = config.json_out or RESULTS_DIR / f"soak-{stamp}.json"
    work = out.with_name(out.stem + "-logs")
    work.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="kindred-soak-"))
    load_before = os.getloadavg()
    results: dict[str, Any] = {
        "started_at": stamp,
        "machine": _setup.machine(),
        "command": _setup.command_line("bench.soak"),
        "config": {key: value for key, value in asdict(config).items() if key not in {"database_url", "redis_url"}},
        "load_average_before": [round(value, 2) for value in load_before],
        "logs": str(work),
    }
    results["config"]["json_out"] = str(config.json_out) if config.json_out else None
    print(f"Machine: {results['machine']}; load average {load_before}", flush=True)
    try:
        async with _setup.services(config.database_url, config.redis_url, data_dir / "data") as urls:
            await drive(config, results, urls, work)
    finally:
        await asyncio.to_thread(shutil.rmtree, data_dir, True)
    results["load_average_after"] = [round(value, 2) for value in os.getloadavg()]
    results["checks"] = checks(results)
    out.write_text(json.dumps(results, indent=2, default=str))
    print(render(results))
    print(f"\nResults: {out}")
    if config.write_docs:
        write_docs(results)
        print(f"Wrote the Soak section of {DOC}")
    return results


# --- the report ------------------------------------------------------------------------------


ANALYSIS = re.compile(r"<!-- soak-analysis -->.*?<!-- /soak-analysis -->", flags=re.DOTALL)


def write_docs(results: dict[str, Any], path: Path = DOC) -> None:
    """Replace (or add) the "## Soak" section; a hand-written block between soak-analysis markers is kept."""
    document = path.read_text() if path.exists() else HEADER
    section = render(results)
    kept = ANALYSIS.search(document)
    if kept is not None:
        section = section.rstrip("\n") + "\n\n" + kept.group(0) + "\n"
    path.write_text(replace_section(document, section, HEADING))


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def render(results: dict[str, Any]) -> str:
    """The "## Soak" section of docs/benchmarks.md."""
    config, machine, tally, stored = results["config"], results["machine"], results["tally"], results["stored"]
    processes = config["processes"]
    lines = [
        HEADING,
        "",
        f"Run {results['started_at']} with `{results['command']}` (`make soak`). Machine: {machine['nproc']} CPUs "
        f"({machine['cpu_model']}), {machine['ram_gib']} GiB RAM, Python {machine['python']}; the load average "
        f"(1, 5, 15 min) was {', '.join(map(str, results['load_average_before']))} before and "
        f"{', '.join(map(str, results['load_average_after']))} after. Everything on this one machine: "
        f"Postgres, Redis, the {processes} Kindred processes (the Procfile's command) and the clients (one process).",
        "",
        f"{config['clients']} members in {config['rooms']} rooms for {config['seconds']:g} s; each connects to a random "
        f"process, shows 1 to 4 rooms, acts every {config['think'][0]:g}–{config['think'][1]:g} s (send 60 %, leave "
        "a room 10 %, join another 10 %, re-join one it is in 10 %, typing 10 %) and after "
        f"{config['life'][0]:g}–{config['life'][1]:g} s drops the connection (40 % a clean close, 30 % an abrupt one, "
        "30 % abrupt right after a send), then reconnects and resumes with since and epoch, re-sending unacked "
        "messages with the same client_id.",
        "",
    ]
    rows = []
    load = [sample for sample in results["samples"] if sample["phase"] == "load"]
    step = max(1, round(len(load) / 12))
    shown = [results["samples"][0], *load[step - 1 :: step], results["samples"][-1]]
    if load and load[-1] not in shown:
        shown.insert(-1, load[-1])
    for sample in shown:
        label = {"baseline": "before", "after": "after all left"}.get(sample["phase"]) or f"{sample['load_t']:g} s"
        cells: list[object] = [label]
        for key in ("rss_mib", "tasks", "kindred_open_sockets", "kindred_hub_topics", "redis_connections"):
            cells.append(" / ".join(f"{p[key]:g}" if key == "rss_mib" else str(p[key]) for p in sample["processes"]))
        cells.append(" / ".join(str(p["postgres_connections"]) for p in sample["processes"]))
        rows.append(cells)
    lines += _table(
        [
            "time",
            "RSS MiB (each process)",
            "asyncio tasks",
            "open sockets",
            "hub topics",
            "Redis conns",
            "Postgres conns",
        ],
        rows,
    )
    lines.append("")
    memory = "; ".join(
        f"process {verdict['process']}: "
        + (
            f"{verdict['first_third_mib']} → {verdict['last_third_mib']} MiB ({verdict['growth'] * 100:+.1f} %, "
            f"{verdict['slope_mib_per_min']:+.2f} MiB/min), {'flat' if verdict['flat'] else 'GROWING'}"
            if verdict["judged"]
            else f"not judged ({verdict['samples']} samples after the warm-up)"
        )
        for verdict in results["memory"]
    )
    back = results["after"]["back_to_baseline"]
    lines += [
        f"- **Memory** (medians of the first and last thirds of the load samples after the first "
        f"{config['warmup'] * 100:g} % of the run; flat means at most {FLAT_GROWTH * 100:g} % growth): {memory}.",
        "- **Leaks**: after every client left, "
        + ("every process's" if all(back) else "NOT every process's")
        + " open sockets, live clients, hub topics and memberships, broker channels and presence entries were "
        "back at their values before the first client, and its asyncio tasks at most as many.",
        f"- **Messages**: {tally['sends']:,} sent, {results['acked']:,} acked, {stored['stored']:,} stored "
        f"({tally['retries']:,} re-sends after reconnects, {tally['aborts_after_send']:,} connections dropped right "
        f"after a send); lost: {stored['acked_not_stored']} acked but not stored, {results['lost_in_views']} missing "
        f"from members' views after resuming; duplicated: {stored['stored_twice']} stored twice, "
        f"{tally['duplicates']} delivered twice on one connection, {tally['below_since']} at or below a join's since; "
        f"rooms with a gap in their seqs: {stored['rooms_with_gaps']}.",
        f"- **Traffic**: {tally['connections']:,} connections ({tally['clean_closes']:,} closed cleanly, "
        f"{tally['aborts']:,} dropped), {tally['joins']:,} joins ({tally['rejoins']:,} re-joins of a room already "
        f"joined, {tally['gap_repairs']} gap repairs), {tally['leaves']:,} leaves, {tally['typing']:,} typing, "
        f"{tally['messages_received']:,} message frames received, {tally['redelivered']:,} seqs received again "
        f"after a resume (dropped as the protocol says), {tally['resyncs']} resyncs"
        + (
            f", {tally['join_retries']} joins asked again after `unavailable` or `rate_limited`"
            if "join_retries" in tally
            else ""
        )
        + "; errors: "
        + (", ".join(f"{code} {count}" for code, count in sorted(tally["errors"].items())) or "none")
        + f"; connection failures: {tally['connect_errors']}.",
        "",
        "Checks: " + ", ".join(f"{name} {'✓' if ok else '✗'}" for name, ok in results["checks"].items()) + ".",
    ]
    if results.get("server_errors"):
        lines += [
            "",
            "Errors in the server logs: " + "; ".join(f"`{line}`" for line in results["server_errors"][:5]) + ".",
        ]
    return "\n".join(lines) + "\n"


def _pair(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    return float(low), float(high or low)


def parse_args(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="how long the load lasts (default 600)")
    parser.add_argument("--processes", type=int, default=2, help="Kindred web processes (default 2)")
    parser.add_argument("--rooms", type=int, default=24, help="rooms, one per community (default 24)")
    parser.add_argument("--clients", type=int, default=120, help="members, each one client (default 120)")
    parser.add_argument("--sample-every", type=float, default=10.0, help="seconds between samples (default 10)")
    parser.add_argument("--warmup", type=float, default=0.2, help="fraction of the run before memory is judged")
    parser.add_argument("--think", type=_pair, default=(1.0, 4.0), help="seconds between a member's actions: MIN,MAX")
    parser.add_argument("--life", type=_pair, default=(5.0, 45.0), help="seconds a connection lasts: MIN,MAX")
    parser.add_argument("--settle", type=float, default=60.0, help="seconds to wait for the baseline after the load")
    parser.add_argument("--seed", type=int, help="seed the members' choices (default: random)")
    parser.add_argument("--write-docs", action="store_true", help="write the Soak section of docs/benchmarks.md")
    parser.add_argument("--json-out", type=Path, help="where to write the JSON results")
    parser.add_argument("--database-url", help="use this (migrated) Postgres database instead of a private one")
    parser.add_argument("--redis-url", help="use this Redis instead of a private one")
    parser.add_argument("--redis-prefix", default="soak:", help="prefix of the soak's Redis keys and channels")
    args = parser.parse_args(argv)
    if args.processes < 2 or args.rooms < 2 or args.clients < 1 or args.seconds <= 0:
        parser.error("--processes and --rooms must be at least 2, --clients at least 1, --seconds above 0")
    return Config(
        seconds=args.seconds,
        processes=args.processes,
        rooms=args.rooms,
        clients=args.clients,
        sample_every=args.sample_every,
        warmup=args.warmup,
        think=args.think,
        life=args.life,
        settle=args.settle,
        seed=args.seed,
        write_docs=args.write_docs,
        json_out=args.json_out,
        database_url=args.database_url,
        redis_url=args.redis_url,
        redis_prefix=args.redis_prefix,
    )


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    results = uvloop.run(run(config))
    return 0 if all(results["checks"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())

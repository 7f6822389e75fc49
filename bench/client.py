"""Benchmark client worker: many picows websockets on uvloop in one process, driven over stdin/stdout.

bench/live.py starts several of these (`python -m bench.client`) so the client is not the
bottleneck, and talks to each with one JSON object per line: a command on stdin, its answer
on stdout. A subscriber counts, per rate step, each message the publisher sent in that step
(the body is "<step>:<index>:<send time in ns>"), and the send-to-receive latency in a
histogram. Times are CLOCK_MONOTONIC, which every process of one Linux machine shares.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import uvloop
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from bench import engineio

# Latency histogram: 0.1 ms buckets up to 1 s; anything slower is kept exactly.
BUCKET_NS = 100_000
BUCKETS = 10_000
SESSION_COOKIE = "kindred_session"


class Frame(msgspec.Struct):
    """The few fields of a server frame the benchmark reads; the rest is skipped by the decoder."""

    type: str
    room: str = ""
    body: str = ""
    code: str = ""
    client_id: str = ""
    seq: int = 0
    head_seq: int = 0
    reason: str = ""


decode_frame = msgspec.json.Decoder(Frame).decode
_encode = msgspec.json.Encoder().encode


def join_frame(room: str) -> bytes:
    return _encode({"type": "join", "room": room})


async def wait_until(done: Callable[[], bool], seconds: float, interval: float = 0.02) -> bool:
    """Poll done() until it is true or `seconds` have passed; its last answer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return True
        await asyncio.sleep(interval)
    return done()


def percentile(hist: dict[int, int], over: list[int], q: float) -> float | None:
    """The q-th percentile (0..100) of a histogram plus exact overflow values, in milliseconds."""
    total = sum(hist.values()) + len(over)
    if total == 0:
        return None
    rank = max(1, round(q / 100 * total + 0.4999))
    seen = 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen >= rank:
            return (bucket + 0.5) * BUCKET_NS / 1e6
    over_sorted = sorted(over)
    return over_sorted[min(len(over_sorted) - 1, rank - seen - 1)] / 1e6


class Recorder:
    """Latency histogram and counters of one rate step."""

    def __init__(self, step: int = -1) -> None:
        self.step = step
        self.hist = [0] * BUCKETS
        self.over: list[int] = []
        self.received = 0
        self.duplicates = 0
        self.first_ns = 0
        self.last_ns = 0

    def add(self, latency_ns: int, now: int) -> None:
        bucket = latency_ns // BUCKET_NS
        if 0 <= bucket < BUCKETS:
            self.hist[bucket] += 1
        else:
            self.over.append(max(latency_ns, 0))
        self.received += 1
        if not self.first_ns:
            self.first_ns = now
        self.last_ns = now

    def export(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "hist": {index: count for index, count in enumerate(self.hist) if count},
            "over": self.over,
            "received": self.received,
            "duplicates": self.duplicates,
            "first_ns": self.first_ns,
            "last_ns": self.last_ns,
        }


@dataclass
class Spec:
    """One socket to open: which server, whose cookie, which room, and the framing ("json" or "socketio")."""

    url: str
    token: str
    room: str
    framing: str = "json"


@dataclass
class Counters:
    frames: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    close_codes: dict[str, int] = field(default_factory=dict)
    stale: int = 0


class Subscriber(WSListener):
    """One socket: joins its room, then counts the bench messages it receives."""

    def __init__(self, worker: Worker, spec: Spec) -> None:
        self.worker = worker
        self.spec = spec
        self.transport: WSTransport | None = None
        self.joined: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.got = bytearray()
        self.open = False
        self.close_code: int | None = None
        self._partial: list[bytes] = []

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.open = True
        if self.spec.framing == "json":
            transport.send(WSMsgType.TEXT, join_frame(self.spec.room))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.CLOSE:
            code = frame.get_close_code()
            self.close_code = code.value if isinstance(code, WSCloseCode) else int(code)
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if kind is WSMsgType.PING:
            return  # picows answers pings itself
        now = time.monotonic_ns()
        payload = frame.get_payload_as_bytes()
        if not frame.fin:
            self._partial.append(payload)
            return
        if self._partial:
            self._partial.append(payload)
            payload = b"".join(self._partial)
            self._partial = []
        if self.spec.framing == "socketio":
            packet, payload = engineio.unwrap(payload)
            if packet != "event":
                self.on_engineio(transport, packet)
                return
        self.worker.on_payload(self, payload, now)

    def on_engineio(self, transport: WSTransport, kind: str) -> None:
        """Engine.IO's own packets: connect to the namespace after the open, join after connecting, answer pings."""
        if kind == "open":
            transport.send(WSMsgType.TEXT, engineio.CONNECT)
        elif kind == "connected":
            transport.send(WSMsgType.TEXT, engineio.wrap(join_frame(self.spec.room)))
        elif kind == "ping":
            transport.send(WSMsgType.TEXT, engineio.PONG)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.open = False
        self.worker.on_closed(self)
        if not self.joined.done():
            self.joined.set_result(f"closed:{self.close_code}")


class Worker:
    """The sockets of one client process and the counters of the current step."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.subscribers: list[Subscriber] = []
        self.counters = Counters()
        self.recorder = Recorder()
        self.expected = 0
        self.target = 0
        self.closed_in_step = 0

    # --- frames -------------------------------------------------------------------------------

    def on_payload(self, sub: Subscriber, payload: bytes, now: int) -> None:
        counters = self.counters
        counters.bytes += len(payload)
        try:
            frame = decode_frame(payload)
        except msgspec.MsgspecError:
            counters.frames["undecodable"] = counters.frames.get("undecodable", 0) + 1
            return
        kind = frame.type
        counters.frames[kind] = counters.frames.get(kind, 0) + 1
        if kind == "message":
            self.on_message(sub, frame.body, now)
        elif kind == "joined":
            if not sub.joined.done():
                sub.joined.set_result("joined")
        elif kind == "error" or kind == "resync":
            code = frame.code or f"resync:{frame.reason}"
            counters.errors[code] = counters.errors.get(code, 0) + 1
            if not sub.joined.done():
                sub.joined.set_result(code)

    def on_message(self, sub: Subscriber, body: str, now: int) -> None:
        parts = body.split(":", 2)
        recorder = self.recorder
        try:
            step = int(parts[0])
            index = int(parts[1])
            sent = int(parts[2])
        except (ValueError, IndexError):
            return
        if step != recorder.step:
            self.counters.stale += 1  # history on join, or a straggler from an earlier step
            return
        got = sub.got
        if index >= len(got):
            return
        if got[index]:
            recorder.duplicates += 1
            return
        got[index] = 1
        recorder.add(now - sent, now)

    def on_closed(self, sub: Subscriber) -> None:
        code = str(sub.close_code) if sub.close_code is not None else "no-close-frame"
        self.counters.close_codes[code] = self.counters.close_codes.get(code, 0) + 1
        self.closed_in_step += 1

    # --- commands -----------------------------------------------------------------------------

    async def connect(self, specs: list[Spec], concurrency: int, seconds: float) -> dict[str, Any]:
        """Open and join every spec not open yet (re-opening closed ones); counts outcomes."""
        started = time.monotonic()
        semaphore = asyncio.Semaphore(concurrency)
        outcomes: dict[str, int] = {}
        by_key = {(sub.spec.url, sub.spec.token, sub.spec.room): sub for sub in self.subscribers if sub.open}
        keep = list(by_key.values())

        async def one(spec: Spec) -> Subscriber | None:
            async with semaphore:
                sub: Subscriber | None = None
                try:
                    async with asyncio.timeout(seconds):
                        _, listener = await ws_connect(
                            lambda: Subscriber(self, spec),
                            spec.url,
                            extra_headers={"Origin": self.origin, "Cookie": f"{SESSION_COOKIE}={spec.token}"},
                            websocket_handshake_timeout=seconds,
                            read_buffer_init_size=4096,
                            max_frame_size=64 * 1024 * 1024,
                        )
                        assert isinstance(listener, Subscriber)
                        sub = listener
                        outcome = await sub.joined
                except Exception as exc:  # any failure to connect is counted, not raised
                    outcome = f"connect:{type(exc).__name__}:{str(exc)[:80]}"
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                if outcome != "joined" and sub is not None and sub.transport is not None:
                    sub.transport.disconnect()
                    return None
                return sub

        pending = [spec for spec in specs if (spec.url, spec.token, spec.room) not in by_key]
        opened = await asyncio.gather(*(one(spec) for spec in pending))
        self.subscribers = keep + [sub for sub in opened if sub is not None]
        return {
            "open": sum(1 for sub in self.subscribers if sub.open),
            "outcomes": outcomes,
            "seconds": round(time.monotonic() - started, 3),
        }

    def start_step(self, step: int, expected: int, rooms: list[str] | None = None) -> dict[str, Any]:
        """A new step of `expected` messages: all to every socket, or with rooms, message i to rooms[i % len(rooms)]."""
        self.recorder = Recorder(step)
        self.expected = expected
        self.closed_in_step = 0
        self.counters.stale = 0
        live = 0
        self.target = 0
        index = {room: position for position, room in enumerate(rooms or [])}
        for sub in self.subscribers:
            sub.got = bytearray(expected)
            live += sub.open
            if sub.open:
                position = index.get(sub.spec.room)
                self.target += (
                    expected if not rooms else len(range(position, expected, len(rooms))) if position is not None else 0
                )
        return {"live": live, "target": self.target}

    async def drain(self, live: int, seconds: float) -> dict[str, Any]:
        """Wait until every live socket got every message of the step (or `seconds`); the step's figures."""
        target = self.target
        await wait_until(lambda: self.recorder.received >= target, seconds)
        result = self.recorder.export()
        result.update(
            {
                "expected": target,
                "closed": self.closed_in_step,
                "stale": self.counters.stale,
                "min_per_socket": min((sum(sub.got) for sub in self.subscribers), default=0),
            }
        )
        return result

    def counters_report(self, reset: bool) -> dict[str, Any]:
        counters = self.counters
        report = {
            "frames": dict(counters.frames),
            "bytes": counters.bytes,
            "errors": dict(counters.errors),
            "close_codes": dict(counters.close_codes),
            "open": sum(1 for sub in self.subscribers if sub.open),
        }
        if reset:
            self.counters = Counters()
        return report

    async def disconnect(self, seconds: float) -> dict[str, Any]:
        for sub in self.subscribers:
            if sub.open and sub.transport is not None:
                sub.transport.send_close(WSCloseCode.OK)
                sub.transport.disconnect()
        await wait_until(lambda: not any(sub.open for sub in self.subscribers), seconds, 0.05)
        still = sum(1 for sub in self.subscribers if sub.open)
        self.subscribers = []
        return {"still_open": still}


async def serve(reader: asyncio.StreamReader, write: Callable[[dict[str, Any]], None]) -> None:
    worker: Worker | None = None
    while line := await reader.readline():
        command = json.loads(line)
        name = command["cmd"]
        answer: dict[str, Any]
        if name == "init":
            worker = Worker(command["origin"])
            answer = {"ok": True}
        elif worker is None:
            answer = {"error": "init first"}
        elif name == "connect":
            specs = [Spec(*item) for item in command["specs"]]
            answer = await worker.connect(specs, command.get("concurrency", 64), command.get("timeout", 60.0))
        elif name == "step":
            answer = worker.start_step(command["step"], command["expected"], command.get("rooms"))
        elif name == "drain":
            answer = await worker.drain(command["live"], command["timeout"])
        elif name == "counters":
            answer = worker.counters_report(command.get("reset", False))
        elif name == "disconnect":
            answer = await worker.disconnect(command.get("timeout", 30.0))
        elif name == "quit":
            write({"ok": True})
            return
        else:
            answer = {"error": f"unknown command {name}"}
        write(answer)


async def main() -> None:
    from bench._setup import raise_fd_limit

    raise_fd_limit()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 30)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout.buffer

    def write(answer: dict[str, Any]) -> None:
        out.write(json.dumps(answer).encode() + b"\n")
        out.flush()

    await serve(reader, write)


if __name__ == "__main__":
    uvloop.run(main())

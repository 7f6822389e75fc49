"""Live-room benchmark: Kindred's fan-out over two processes against a bare Starlette ceiling, on loopback.

`make bench-live` (or `python -m bench.live --help`). For each system (the bare ceiling in
bench/ceiling_app.py, then Kindred as the Procfile runs it), two server processes share one
Redis; one publisher (a community leader) sends to one room at rising rates while N
subscribers, half on each process, held by several picows/uvloop client processes, count every
message and its send-to-receive latency. Before that, 10,000 idle sockets (joined to rooms of
100 members) measure server memory per idle connection. Figures go to the terminal and to
bench/results/live-<time>.json; --write-docs puts them in docs/benchmarks.md ("## Live rooms").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import json
import math
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import psutil  # type: ignore[import-untyped]
import uvloop
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from bench import _peers, _setup, engineio
from bench._docs import write_docs
from bench.client import SESSION_COOKIE, Recorder, decode_frame, join_frame, percentile, wait_until

RESULTS_DIR = _setup.ROOT / "bench" / "results"
P99_TARGET_MS = 100.0
RATIO_TARGET = 0.75
P99_RATIO_TARGET = 2.0
IDLE_KIB_TARGET = 20.0
DEFAULT_RATES = (5, 10, 20, 40, 60, 80, 100, 130, 160, 200, 250, 320, 400, 500)


@dataclass
class Config:
    clients: int = 1000
    rates: list[float] = field(default_factory=lambda: list(DEFAULT_RATES))
    duration: float = 5.0
    idle_sockets: int = 10_000
    workers: int = 2
    systems: list[str] = field(default_factory=lambda: ["ceiling", "kindred", "socketio", "channels"])
    reference_rate: float = 20.0
    refine: int = 2
    presence: str = "hidden"
    publishers: int = 1
    drain_timeout: float = 10.0
    profile: str = "auto"  # auto: when a target is missed; always; never
    write_docs: bool = False
    json_out: Path | None = None
    database_url: str | None = None
    redis_url: str | None = None
    redis_prefix: str = "bench:"
    # A private Redis Cluster (3 masters, a replica each) instead of one Redis; Kindred uses sharded pub/sub.
    redis_cluster: bool = False
    # After the single-Redis run: Kindred again on a private 3-master cluster, at the same rates (the cluster figure).
    cluster_figure: bool = True
    # Many rooms: rooms × members sockets across both processes, a rising total rate spread over the rooms.
    many_rooms: int = 1000
    many_members: int = 10
    # Sockets of the rooms' leader that the many-rooms rate is split over, alternating processes (1: one socket,
    # whose frames are handled one after another, each send committed before the next: the send path's limit).
    many_publishers: int = 1
    many_rates: list[float] = field(default_factory=lambda: [50.0, 100.0, 200.0, 400.0, 800.0])
    many_systems: list[str] = field(default_factory=lambda: ["ceiling", "kindred"])


# --- client processes ------------------------------------------------------------------------


class WorkerProcess:
    """One `python -m bench.client` process, spoken to with one JSON line per command."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lock = asyncio.Lock()

    @classmethod
    async def start(cls, origin: str) -> WorkerProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.client",
            cwd=_setup.ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 30,
        )
        worker = cls(process)
        await worker.call({"cmd": "init", "origin": origin})
        return worker

    async def call(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        async with self.lock:
            self.process.stdin.write(json.dumps(command).encode() + b"\n")
            await self.process.stdin.drain()
            line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"client worker exited (code {self.process.returncode}) during {command['cmd']}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"client worker: {answer['error']}")
        return answer

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(30):
                    await self.call({"cmd": "quit"})
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        await self.process.wait()


class Clients:
    """All client processes at once: each command goes to every worker, answers come back as a list."""

    def __init__(self, workers: list[WorkerProcess]) -> None:
        self.workers = workers

    async def all(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(worker.call(command) for worker in self.workers)))

    async def connect(self, specs: list[tuple[str, str, str, str]], concurrency: int = 64) -> dict[str, Any]:
        """Spread specs over the workers and open them; outcomes summed."""
        shares: list[list[tuple[str, str, str, str]]] = [[] for _ in self.workers]
        for index, spec in enumerate(specs):
            shares[index % len(self.workers)].append(spec)
        started = time.monotonic()
        answers = await asyncio.gather(
            *(
                worker.call({"cmd": "connect", "specs": share, "concurrency": concurrency, "timeout": 60.0})
                for worker, share in zip(self.workers, shares, strict=True)
            )
        )
        outcomes: Counter[str] = Counter()
        for answer in answers:
            outcomes.update(answer["outcomes"])
        return {
            "open": sum(answer["open"] for answer in answers),
            "outcomes": dict(outcomes),
            "seconds": round(time.monotonic() - started, 2),
        }

    async def counters(self, reset: bool = False) -> dict[str, Any]:
        answers = await self.all({"cmd": "counters", "reset": reset})
        frames: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        closes: Counter[str] = Counter()
        for answer in answers:
            frames.update(answer["frames"])
            errors.update(answer["errors"])
            closes.update(answer["close_codes"])
        return {
            "frames": dict(frames),
            "bytes": sum(answer["bytes"] for answer in answers),
            "errors": dict(errors),
            "close_codes": dict(closes),
            "open": sum(answer["open"] for answer in answers),
        }

    async def quiet(self, seconds: float = 1.0, limit: float = 20.0) -> None:
        """Wait until no frame has arrived for `seconds` (a backlog from an overloaded step has drained)."""
        deadline = time.monotonic() + limit
        last = -1
        while time.monotonic() < deadline:
            total = (await self.counters())["bytes"]
            if total == last:
                return
            last = total
            await asyncio.sleep(seconds)

    async def disconnect(self) -> None:
        await self.all({"cmd": "disconnect", "timeout": 30.0})

    async def stop(self) -> None:
        await asyncio.gather(*(worker.stop() for worker in self.workers))


# --- the publisher ---------------------------------------------------------------------------


class Publisher(WSListener):
    """The one sender: a leader's socket, sending at a fixed rate and timing each ack."""

    def __init__(self, framing: str = "json", room: str = "") -> None:
        self.framing = framing
        self.transport: WSTransport | None = None
        self.joined: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.sent_at: dict[str, int] = {}
        self.acks = Recorder()
        self.errors: Counter[str] = Counter()
        self.close_code: int | None = None
        self.open = False
        self.room = room
        self.joined_count = 0
        # Client ids are unique per message for good (docs/protocol.md, `send`): the server answers a send whose
        # client id it already stored with the first message's ack and sends nothing. The step and index restart
        # with every run, so a run on a Postgres that kept an earlier run's messages would be acked without a
        # single delivery; this publisher's own token keeps its ids apart from every earlier run's.
        self.run = secrets.token_hex(4)
        # Each room's head seq when this socket joined it: an ack at or below it is an earlier message's.
        self.heads: dict[str, int] = {}

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.open = True

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.CLOSE:
            self.close_code = frame.get_close_code().value
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if frame.msg_type is not WSMsgType.TEXT or not frame.fin:
            return  # the publisher ignores anything it does not need (history, presence)
        now = time.monotonic_ns()
        payload = frame.get_payload_as_bytes()
        if self.framing == "socketio":
            kind, payload = engineio.unwrap(payload)
            if kind == "open":
                transport.send(WSMsgType.TEXT, engineio.CONNECT)
            elif kind == "connected":
                transport.send(WSMsgType.TEXT, engineio.wrap(join_frame(self.room)))
            elif kind == "ping":
                transport.send(WSMsgType.TEXT, engineio.PONG)
            if kind != "event":
                return
        try:
            parsed = decode_frame(payload)
        except msgspec.MsgspecError:
            return
        if parsed.type == "ack":
            sent = self.sent_at.pop(parsed.client_id, None)
            if parsed.seq and parsed.seq <= self.heads.get(parsed.room, 0):
                # Taken for a retry of a message stored before this socket joined: nothing goes to the room.
                self.errors["ack_of_an_earlier_message"] += 1
            elif sent is not None:
                self.acks.add(now - sent, now)
        elif parsed.type == "joined":
            # The first `joined` of a room gives its head; later ones (after a Redis reconnect) announce new heads.
            self.heads.setdefault(parsed.room, parsed.head_seq)
            self.joined_count += 1
            if not self.joined.done():
                self.joined.set_result("joined")
        elif parsed.type in {"error", "resync"}:
            self.errors[parsed.code or parsed.reason] += 1
            if parsed.client_id or parsed.code:
                self.sent_at.pop(parsed.client_id, None)
            if not self.joined.done():
                self.joined.set_result(parsed.code)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.open = False
        if not self.joined.done():
            self.joined.set_result(f"closed:{self.close_code}")

    @classmethod
    async def connect(cls, url: str, token: str, room: str, origin: str, framing: str = "json") -> Publisher:
        _, listener = await ws_connect(
            lambda: cls(framing, room),
            url,
            extra_headers={"Origin": origin, "Cookie": f"{SESSION_COOKIE}={token}"},
            websocket_handshake_timeout=30,
            max_frame_size=64 * 1024 * 1024,
        )
        assert isinstance(listener, Publisher)
        publisher = listener
        publisher.room = room
        assert publisher.transport is not None
        if framing == "json":
            publisher.transport.send(WSMsgType.TEXT, join_frame(room))
        # Engine.IO: the open packet may have come before `room` was set; the join then waits for `connected`.
        outcome = await asyncio.wait_for(publisher.joined, 30)
        if outcome != "joined":
            raise RuntimeError(f"the publisher could not join {room}: {outcome}")
        return publisher

    async def join_more(self, rooms: list[str], seconds: float = 60.0) -> None:
        """Join further rooms on this socket (the many-rooms publisher is in every room)."""
        assert self.transport is not None
        self.joined_count = 0
        for room in rooms:
            frame = join_frame(room)
            self.transport.send(WSMsgType.TEXT, engineio.wrap(frame) if self.framing == "socketio" else frame)
        if not await wait_until(lambda: self.joined_count >= len(rooms), seconds):
            raise RuntimeError(f"the publisher joined {self.joined_count} of {len(rooms)} rooms")

    async def send_step(
        self, step: int, rate: float, count: int, start: float, share: range, rooms: list[str] | None = None
    ) -> dict[str, Any]:
        """Send the messages of `share` (indices of the step's count) on the step's schedule of rate per second;
        with rooms, message i goes to rooms[i % len(rooms)]."""
        assert self.transport is not None
        self.acks = Recorder(step)
        self.errors = Counter()
        loop = asyncio.get_running_loop()
        encoder = msgspec.json.Encoder()
        room = self.room
        first_ns = time.monotonic_ns()
        for index in share:
            delay = start + index / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            client_id = f"b{self.run}-{step}-{index}"
            now = time.monotonic_ns()
            self.sent_at[client_id] = now
            target = rooms[index % len(rooms)] if rooms else room
            frame = {"type": "send", "room": target, "client_id": client_id, "body": f"{step}:{index}:{now}"}
            data = encoder.encode(frame)
            self.transport.send(WSMsgType.TEXT, engineio.wrap(data) if self.framing == "socketio" else data)
        return {"first_ns": first_ns, "send_seconds": loop.time() - start}

    async def wait_acks(self, seconds: float) -> None:
        await wait_until(lambda: not self.sent_at, seconds)

    def close(self) -> None:
        if self.transport is not None and self.open:
            self.transport.send_close(WSCloseCode.OK)
            self.transport.disconnect()


# --- one rate step ---------------------------------------------------------------------------


def merge_histograms(parts: list[dict[str, Any]]) -> tuple[dict[int, int], list[int]]:
    hist: Counter[int] = Counter()
    over: list[int] = []
    for part in parts:
        hist.update({int(bucket): count for bucket, count in part["hist"].items()})
        over += part["over"]
    return dict(hist), over


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class System:
    """The two server processes of one system, its clients and publisher, and the steps run on them."""

    def __init__(self, name: str, config: Config, seeded: _setup.Seeded, urls: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.config = config
        self.seeded = seeded
        self.urls = urls
        self.log_dir = log_dir
        self.servers: list[_setup.ServerProcess] = []
        self.clients: Clients | None = None
        self.publishers: list[Publisher] = []
        self.step_id = 0

    async def start(self) -> None:
        prefix = f"{self.config.redis_prefix}{self.name}:"
        for _ in range(2):
            if self.name == "kindred":
                server = await asyncio.to_thread(
                    functools.partial(
                        _setup.start_kindred,
                        self.urls["database"],
                        self.urls["redis"],
                        prefix,
                        self.log_dir,
                        redis_cluster=self.config.redis_cluster,
                    )
                )
            elif self.name in _peers.PEERS:
                server = await asyncio.to_thread(_peers.start_peer, self.name, self.urls["redis"], prefix, self.log_dir)
            else:
                server = await asyncio.to_thread(_setup.start_ceiling, self.urls["redis"], prefix, self.log_dir)
            self.servers.append(server)
        workers = await asyncio.gather(*(WorkerProcess.start(_setup.BENCH_ORIGIN) for _ in range(self.config.workers)))
        self.clients = Clients(list(workers))

    async def stop(self) -> None:
        for publisher in self.publishers:
            publisher.close()
        if self.clients is not None:
            with contextlib.suppress(Exception):
                await self.clients.disconnect()
            await self.clients.stop()
        await asyncio.gather(*(asyncio.to_thread(server.stop) for server in self.servers))

    @property
    def framing(self) -> str:
        """socket.io speaks Engine.IO packets; every other system plain JSON frames."""
        return "socketio" if self.name == "socketio" else "json"

    def _spread(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str, str, str]]:
        # Alternate servers, so each process gets half and each client process talks to both.
        return [
            (self.servers[index % 2].ws_url, token, room, self.framing) for index, (token, room) in enumerate(pairs)
        ]

    def rss(self) -> list[int]:
        return [server.rss() for server in self.servers]

    def cpu(self) -> list[float]:
        return [server.cpu_seconds() for server in self.servers]

    def services_cpu(self) -> float:
        """CPU seconds of the bench's own Redis and Postgres (postmaster and backends), when it started them."""
        pids: list[int] = []
        if self.urls.get("redis_pid"):
            pids.append(int(self.urls["redis_pid"]))
        pid_file = Path(self.urls["pgdata"]) / "postmaster.pid" if self.urls.get("pgdata") else None
        total = 0.0
        with contextlib.suppress(OSError, ValueError, psutil.Error):
            if pid_file is not None:
                postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
                pids += [postmaster.pid] + [child.pid for child in postmaster.children(recursive=True)]
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                total += times.user + times.system
        return total

    def client_cpu(self) -> float:
        """CPU seconds of the client processes and of this one (the publisher)."""
        assert self.clients is not None
        pids = [worker.process.pid for worker in self.clients.workers] + [os.getpid()]
        total = 0.0
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                total += times.user + times.system
        return total

    async def settle(self, limit: float = 60.0) -> None:
        """Wait until the server processes are idle (under 5 % of a CPU each over half a second)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            before = self.cpu()
            await asyncio.sleep(0.5)
            busy = [(after - first) / 0.5 for after, first in zip(self.cpu(), before, strict=True)]
            if max(busy) < 0.05:
                return

    # --- phases -------------------------------------------------------------------------------

    async def idle_memory(self, count: int) -> dict[str, Any]:
        """RSS of each server process before and after `count` idle sockets joined to rooms of 100."""
        assert self.clients is not None
        pairs = self.seeded.idle[:count]
        # Warm-up: a first round of sockets so lazy imports, pools and caches are not counted per socket.
        warm = self._spread(pairs[: min(200, len(pairs))])
        await self.clients.connect(warm)
        await self.clients.disconnect()
        await self.clients.quiet()
        await self.settle()
        before = self.rss()
        await self.clients.counters(reset=True)
        opened = await self.clients.connect(self._spread(pairs), concurrency=32)
        await self.clients.quiet()
        await self.settle()
        after = self.rss()
        traffic = await self.clients.counters(reset=True)
        open_sockets = traffic["open"]
        await self.clients.disconnect()
        await self.clients.quiet()
        await self.settle()
        per_socket = (sum(after) - sum(before)) / max(open_sockets, 1) / 1024
        return {
            "sockets": count,
            "open": open_sockets,
            "outcomes": opened["outcomes"],
            "connect_seconds": opened["seconds"],
            "rss_before_mib": [round(value / 2**20, 1) for value in before],
            "rss_after_mib": [round(value / 2**20, 1) for value in after],
            "kib_per_socket": round(per_socket, 2),
            "frames_during_join": traffic["frames"],
            "bytes_during_join": traffic["bytes"],
        }

    async def join_subscribers(self) -> dict[str, Any]:
        assert self.clients is not None
        tokens = self.seeded.subscriber_tokens[: self.config.clients]
        await self.clients.counters(reset=True)
        specs = self._spread([(token, self.seeded.room) for token in tokens])
        opened = await self.clients.connect(specs)
        await self.clients.quiet()
        traffic = await self.clients.counters(reset=True)
        retries: list[dict[str, Any]] = []
        while traffic["open"] < len(tokens) and len(retries) < 3:
            # A join the server refused under the burst (e.g. `unavailable`) is tried again, as a client would.
            await self.settle()
            retry = await self.clients.connect(specs, concurrency=8)
            retries.append(retry["outcomes"])
            traffic["open"] = retry["open"]
        await self.clients.counters(reset=True)
        await self.connect_publishers()
        return {
            "subscribers": len(tokens),
            "open": traffic["open"],
            "outcomes": opened["outcomes"],
            "retries": retries,
            "seconds": opened["seconds"],
            "frames_during_join": traffic["frames"],
            "bytes_during_join": traffic["bytes"],
        }

    async def connect_publishers(self) -> None:
        """The publishers' sockets, all on the first server process (whose send path is under test)."""
        for index, token in enumerate(self.seeded.publisher_tokens):
            if index < len(self.publishers) and self.publishers[index].open:
                continue
            publisher = await Publisher.connect(
                self.servers[0].ws_url, token, self.seeded.room, _setup.BENCH_ORIGIN, self.framing
            )
            if index < len(self.publishers):
                self.publishers[index] = publisher
            else:
                self.publishers.append(publisher)

    async def step(self, rate: float, duration: float, rooms: list[str] | None = None) -> dict[str, Any]:
        """One rate step in the fan-out room, or with rooms, spread over them (message i to rooms[i % len])."""
        assert self.clients is not None and self.publishers
        self.step_id += 1
        step = self.step_id
        count = max(1, round(rate * duration))
        started = await self.clients.all({"cmd": "step", "step": step, "expected": count, "rooms": rooms})
        cpu_before = self.cpu()
        client_before = self.client_cpu()
        services_before = self.services_cpu()
        machine_before = psutil.cpu_times()
        wall_before = time.monotonic()
        # Publisher k sends messages k, k + n, k + 2n… of one common schedule.
        n = len(self.publishers)
        start = asyncio.get_running_loop().time() + 0.01
        sends = await asyncio.gather(
            *(
                publisher.send_step(step, rate, count, start, range(k, count, n), rooms)
                for k, publisher in enumerate(self.publishers)
            )
        )
        sent = {"first_ns": min(part["first_ns"] for part in sends)}
        sent["send_seconds"] = max(part["send_seconds"] for part in sends)
        drained = await asyncio.gather(
            *(
                worker.call({"cmd": "drain", "live": answer["live"], "timeout": self.config.drain_timeout})
                for worker, answer in zip(self.clients.workers, started, strict=True)
            )
        )
        await asyncio.gather(*(publisher.wait_acks(2.0) for publisher in self.publishers))
        refusals: Counter[str] = Counter()
        for publisher in self.publishers:
            refusals.update(publisher.errors)
        acks = merge_histograms([publisher.acks.export() for publisher in self.publishers])
        wall = time.monotonic() - wall_before
        cpu = [after - before for after, before in zip(self.cpu(), cpu_before, strict=True)]
        client_cpu = self.client_cpu() - client_before
        services_cpu = self.services_cpu() - services_before
        machine_after = psutil.cpu_times()
        machine_busy = sum(machine_after) - sum(machine_before) - (machine_after.idle - machine_before.idle)
        live = sum(answer["live"] for answer in started)
        expected = sum(answer["target"] for answer in started)
        received = sum(part["received"] for part in drained)
        hist, over = merge_histograms(drained)
        last_ns = max((part["last_ns"] for part in drained), default=0)
        # At least the sending window: a step without backlog delivers rate × subscribers per second.
        span = max((last_ns - sent["first_ns"]) / 1e9 if last_ns else 0.0, count / rate)
        closed = sum(part["closed"] for part in drained)
        duplicates = sum(part["duplicates"] for part in drained)
        refused = sum(refusals.values())
        p99 = percentile(hist, over, 99)
        result = {
            "rate": rate,
            "messages": count,
            "subscribers": live,
            "send_seconds": round(sent["send_seconds"], 3),
            "expected": expected,
            "received": received,
            "loss": expected - received,
            "duplicates": duplicates,
            "closed": closed,
            "refused": dict(refusals),
            "delivered_per_s": round(received / span, 1) if span > 0 else 0.0,
            "p50_ms": _ms(percentile(hist, over, 50)),
            "p99_ms": _ms(p99),
            "max_ms": _ms(percentile(hist, over, 100)),
            "ack_p50_ms": _ms(percentile(*acks, 50)),
            "ack_p99_ms": _ms(percentile(*acks, 99)),
            "server_cpu_pct": [round(100 * value / wall, 1) for value in cpu],
            "client_cpu_pct": round(100 * client_cpu / wall, 1),
            "services_cpu_pct": round(100 * services_cpu / wall, 1),
            "machine_busy_pct": round(100 * machine_busy / wall, 1),
            # Everything else on the machine (other people's work): the bench cannot control it, only say it.
            "other_cpu_pct": round(100 * (machine_busy - sum(cpu) - client_cpu - services_cpu) / wall, 1),
            "server_cpu_us_per_delivery": round(1e6 * sum(cpu) / received, 2) if received else None,
        }
        result["pass"] = bool(
            expected > 0
            and received == expected
            and duplicates == 0
            and closed == 0
            and refused == 0
            and p99 is not None
            and p99 < P99_TARGET_MS
        )
        if (not result["pass"] or closed) and rooms is None:
            await self.clients.quiet()
            await self.heal()
        elif not result["pass"]:
            await self.clients.quiet()
        await self.settle(limit=20)
        return result

    async def many_rooms(self, many: _setup.ManyRooms, rates: list[float], duration: float) -> dict[str, Any]:
        """The fan-out sockets swapped for `many` rooms' members (alternating processes); one publisher in every
        room spreads a rising total rate over them (message i to room i mod rooms) until a step misses."""
        assert self.clients is not None
        await self.clients.disconnect()
        for publisher in self.publishers:
            publisher.close()
        await self.clients.quiet()
        await self.settle()
        opened = await self.clients.connect(self._spread(many.members), concurrency=32)
        await self.clients.quiet()
        await self.clients.counters(reset=True)
        self.publishers = []
        for index in range(max(1, self.config.many_publishers)):
            server = self.servers[index % len(self.servers)]
            publisher = await Publisher.connect(
                server.ws_url, many.publisher_token, many.rooms[0], _setup.BENCH_ORIGIN, self.framing
            )
            await publisher.join_more(many.rooms[1:])
            self.publishers.append(publisher)
        await self.clients.quiet()
        await self.settle()
        await self.step(min(rates), min(1.0, duration), many.rooms)  # warm-up, not reported
        steps: list[dict[str, Any]] = []
        for rate in sorted(rates):
            result = await self.step(rate, duration, many.rooms)
            print_step(f"{self.name}/rooms", result)
            steps.append(result)
            if not result["pass"]:
                break
        profile = None
        passed = [step["rate"] for step in steps if step["pass"]]
        if self.config.profile == "always" and passed:
            # Where a message's cost goes when it reaches 10 members, not 1,000: the send path's share.
            profile = await self.profile(max(passed), self.log_dir, many.rooms)
        return {
            "rooms": len(many.rooms),
            "members": len(many.members) // max(len(many.rooms), 1),
            "open": opened["open"],
            "outcomes": opened["outcomes"],
            "connect_seconds": opened["seconds"],
            "steps": steps,
            **({"profile": profile} if profile else {}),
        }

    async def heal(self) -> None:
        """Reopen subscribers a server closed (e.g. 4008 after an overloaded step), and the publisher."""
        assert self.clients is not None
        tokens = self.seeded.subscriber_tokens[: self.config.clients]
        await self.clients.connect(self._spread([(token, self.seeded.room) for token in tokens]))
        await self.connect_publishers()
        await self.clients.quiet()

    async def profile(self, rate: float, out_dir: Path, rooms: list[str] | None = None) -> dict[str, Any]:
        """py-spy on every server process while one step runs at rate (in the fan-out room, or spread over
        rooms): where the busy time goes."""
        duration = max(3.0, self.config.duration)
        outputs = []
        procs = []
        for server in self.servers:
            out = out_dir / f"profile-{self.name}-{server.pid}.txt"
            outputs.append(out)
            procs.append(
                await asyncio.create_subprocess_exec(
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "--pid",
                    str(server.pid),
                    "--duration",
                    str(int(duration + 1)),
                    "--rate",
                    "200",
                    "--nonblocking",
                    "--nolineno",
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
            )
        await asyncio.sleep(0.5)
        result = await self.step(rate, duration, rooms)
        errors = []
        for proc in procs:
            _, stderr = await proc.communicate()
            if proc.returncode != 0:
                errors.append(stderr.decode(errors="replace")[-500:])
        stacks: Counter[str] = Counter()
        for out in outputs:
            if out.exists():
                stacks.update(read_collapsed(out.read_text()))
        summary = summarize_profile(stacks, seconds=duration + 1, processes=len(self.servers), rate_hz=200)
        summary.update({"rate": rate, "step": result, "errors": errors, "files": [str(path) for path in outputs]})
        return summary


async def ramp(systems: dict[str, System], config: Config) -> dict[str, list[dict[str, Any]]]:
    """Rising rates, each step run on every system in turn (so noise from other work on the machine hits both
    alike), until a system fails a step at or above the reference rate; then a few bisections per system."""
    steps: dict[str, list[dict[str, Any]]] = {name: [] for name in systems}
    for system in systems.values():
        await system.step(min(config.rates), min(1.0, config.duration))  # warm-up, not reported
    active = list(systems)
    for rate in sorted(set(config.rates)):
        for name in list(active):
            result = await systems[name].step(rate, config.duration)
            steps[name].append(result)
            print_step(name, result)
            if not result["pass"] and rate >= config.reference_rate:
                active.remove(name)
        if not active:
            break
    bounds: dict[str, tuple[float, float]] = {}
    for name, done in steps.items():
        passed = [step["rate"] for step in done if step["pass"]]
        if not passed:
            continue
        low = max(passed)
        high = min((step["rate"] for step in done if not step["pass"] and step["rate"] > low), default=None)
        if high is not None:
            bounds[name] = (low, high)
    for _ in range(config.refine):
        for name, (low, high) in list(bounds.items()):
            middle = round(math.sqrt(low * high), 1)
            if middle <= low or middle >= high:
                del bounds[name]
                continue
            result = await systems[name].step(middle, config.duration)
            result["refinement"] = True
            steps[name].append(result)
            print_step(name, result)
            bounds[name] = (middle, high) if result["pass"] else (low, middle)
    return steps


# --- profiles --------------------------------------------------------------------------------

# Frames every sample passes through (uvicorn's start-up and the event loop): no information in them.
_BOILERPLATE = ("(click/core.py)", "(uvicorn/main.py)", "(uvicorn/_compat.py)", "(uvicorn/server.py)", "(uvicorn)")
_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*)\)$")


def read_collapsed(text: str) -> Counter[str]:
    stacks: Counter[str] = Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[stack] += int(count)
    return stacks


def _short(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['name']} ({path})"


def summarize_profile(stacks: Counter[str], *, seconds: float, processes: int, rate_hz: int) -> dict[str, Any]:
    """Top frames by own time and by time including callees, and own time by file, as % of busy samples."""
    busy = sum(stacks.values())
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    by_file: Counter[str] = Counter()
    for stack, count in stacks.items():
        frames = [_short(frame) for frame in stack.split(";") if frame.strip()]
        if not frames:
            continue
        # The first frame py-spy writes is the process/thread label, not code.
        code = [frame for frame in frames if "(" in frame]
        if not code:
            continue
        own[code[-1]] += count
        file = code[-1].rsplit("(", 1)[-1].rstrip(")")
        by_file[file] += count
        for frame in set(code):
            if not frame.endswith(_BOILERPLATE):
                inclusive[frame] += count

    def top(counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(name, round(100 * count / busy, 1)) for name, count in counter.most_common(n)] if busy else []

    possible = seconds * processes * rate_hz
    return {
        "busy_samples": busy,
        "busy_pct_of_wall": round(100 * busy / possible, 1) if possible else 0.0,
        "top_own": top(own, 15),
        "top_inclusive": top(inclusive, 25),
        "own_by_file": top(by_file, 12),
    }


# --- reporting -------------------------------------------------------------------------------


def print_step(system: str, step: dict[str, Any]) -> None:
    mark = "pass" if step["pass"] else "MISS"
    print(
        f"  {system:8} {step['rate']:7.1f} msg/s  subs {step['subscribers']:5}  "
        f"delivered {step['delivered_per_s']:10.1f}/s  loss {step['loss']:6}  dup {step['duplicates']:3}  "
        f"closed {step['closed']:4}  p50 {step['p50_ms']!s:>8} ms  p99 {step['p99_ms']!s:>8} ms  "
        f"ack p50/p99 {step['ack_p50_ms']!s}/{step['ack_p99_ms']!s} ms  cpu servers {step['server_cpu_pct']} "
        f"clients {step['client_cpu_pct']} pg+redis {step['services_cpu_pct']} other {step['other_cpu_pct']}  "
        f"server µs/delivery {step['server_cpu_us_per_delivery']}  {mark}",
        flush=True,
    )


def sustained(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The passing step with the most deliveries per second (p99 under the target, no loss)."""
    passed = [step for step in steps if step["pass"]]
    return max(passed, key=lambda step: step["delivered_per_s"]) if passed else None


def at_rate(steps: list[dict[str, Any]], rate: float) -> dict[str, Any] | None:
    return next((step for step in steps if step["rate"] == rate and not step.get("refinement")), None)


def evaluate(results: dict[str, Any], config: Config) -> list[dict[str, Any]]:
    """Each target from the issue, with the figures it compares and pass/miss."""
    kindred = results["systems"].get("kindred")
    ceiling = results["systems"].get("ceiling")
    targets: list[dict[str, Any]] = []
    if kindred and ceiling:
        ks, cs = sustained(kindred["steps"]), sustained(ceiling["steps"])
        k_rate = ks["delivered_per_s"] if ks else 0.0
        c_rate = cs["delivered_per_s"] if cs else 0.0
        ratio = k_rate / c_rate if c_rate else None
        targets.append(
            {
                "target": f"sustained fan-out (p99 < {P99_TARGET_MS:.0f} ms, no loss) ≥ {RATIO_TARGET} × ceiling",
                "kindred": k_rate,
                "ceiling": c_rate,
                "ratio": None if ratio is None else round(ratio, 3),
                "pass": ratio is not None and ratio >= RATIO_TARGET,
            }
        )
        kr, cr = at_rate(kindred["steps"], config.reference_rate), at_rate(ceiling["steps"], config.reference_rate)
        k_p99 = kr["p99_ms"] if kr else None
        c_p99 = cr["p99_ms"] if cr else None
        p99_ratio = k_p99 / c_p99 if k_p99 is not None and c_p99 else None
        targets.append(
            {
                "target": f"p99 at {config.reference_rate:g} msg/s ≤ {P99_RATIO_TARGET:g} × ceiling's",
                "kindred": k_p99,
                "ceiling": c_p99,
                "ratio": None if p99_ratio is None else round(p99_ratio, 2),
                "pass": p99_ratio is not None and p99_ratio <= P99_RATIO_TARGET and bool(kr and kr["loss"] == 0),
            }
        )
    if kindred and kindred.get("idle"):
        kib = kindred["idle"]["kib_per_socket"]
        targets.append(
            {
                "target": f"server memory per idle socket ≤ {IDLE_KIB_TARGET:g} KiB",
                "kindred": kib,
                "ceiling": ceiling["idle"]["kib_per_socket"] if ceiling and ceiling.get("idle") else None,
                "ratio": None,
                "pass": kib <= IDLE_KIB_TARGET,
            }
        )
    return targets


def compare(results: dict[str, Any], config: Config) -> list[dict[str, Any]]:
    """Per system: sustained deliveries/s, p99 at the reference rate, and Kindred's ratio to each (same client, same run)."""
    systems = results["systems"]
    kindred = systems.get("kindred")
    k_best = sustained(kindred["steps"]) if kindred else None
    k_ref = at_rate(kindred["steps"], config.reference_rate) if kindred else None
    rows = []
    for name, system in systems.items():
        best = sustained(system.get("steps", []))
        ref = at_rate(system.get("steps", []), config.reference_rate)
        rate = best["delivered_per_s"] if best else 0.0
        p99 = ref["p99_ms"] if ref else None
        lowest = min(system.get("steps", []), key=lambda step: step["rate"], default=None)
        rows.append(
            {
                "system": name,
                "sustained_per_s": rate,
                # When no step passed, what the lowest rate tried gave (so a reader sees how far off it was).
                "lowest_step": None if best or lowest is None else _step_brief(lowest),
                "at_rate": best["rate"] if best else None,
                "p99_ms_at_reference": p99,
                "kindred_ratio": round(k_best["delivered_per_s"] / rate, 3) if k_best and rate else None,
                "kindred_p99_ratio": (
                    round(k_ref["p99_ms"] / p99, 2) if k_ref and k_ref["p99_ms"] is not None and p99 else None
                ),
            }
        )
    return rows


def _step_brief(step: dict[str, Any]) -> dict[str, Any]:
    return {key: step[key] for key in ("rate", "delivered_per_s", "loss", "p99_ms")}


def print_summary(results: dict[str, Any]) -> None:
    print()
    for name, system in results["systems"].items():
        idle = system.get("idle")
        if idle:
            print(
                f"{name}: {idle['open']} idle sockets, {idle['kib_per_socket']} KiB/socket "
                f"(RSS {idle['rss_before_mib']} → {idle['rss_after_mib']} MiB)"
            )
        best = sustained(system["steps"])
        if best:
            print(f"{name}: sustained {best['delivered_per_s']:.0f} deliveries/s at {best['rate']:g} msg/s")
        else:
            print(f"{name}: no step passed")
    for name, system in results["systems"].items():
        many = system.get("many_rooms")
        if many:
            best = sustained(many["steps"])
            print(
                f"{name}: many rooms ({many['rooms']} × {many['members']}): "
                + (
                    f"sustained {best['delivered_per_s']:.0f} deliveries/s at {best['rate']:g} msg/s"
                    if best
                    else "none"
                )
            )
    for row in results.get("comparison", []):
        print(
            f"{row['system']}: sustained {row['sustained_per_s']:.0f}/s, p99 at the reference rate "
            f"{row['p99_ms_at_reference']} ms; Kindred's ratio {row['kindred_ratio']} (p99 {row['kindred_p99_ratio']})"
        )
    for target in results["targets"]:
        mark = "pass" if target["pass"] else "MISS"
        print(
            f"[{mark}] {target['target']}: kindred {target['kindred']}, ceiling {target['ceiling']}, ratio {target['ratio']}"
        )


# --- the run ---------------------------------------------------------------------------------


def services(config: Config, data_dir: Path) -> contextlib.AbstractAsyncContextManager[dict[str, str]]:
    """The given Postgres/Redis, or private ones in data_dir (migrated): bench._setup.services."""
    return _setup.services(config.database_url, config.redis_url, data_dir, redis_cluster=config.redis_cluster)


async def run(config: Config) -> dict[str, Any]:
    _setup.raise_fd_limit()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = config.json_out or RESULTS_DIR / f"live-{stamp}.json"
    # Server logs and profiles sit beside the JSON; the databases go in a temporary folder, removed after.
    work = out.with_name(out.stem + "-logs")
    work.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="kindred-bench-"))
    results: dict[str, Any] = {
        "started_at": stamp,
        "machine": _setup.machine(),
        "command": _setup.command_line(),
        "config": {key: value for key, value in asdict(config).items() if key not in {"database_url", "redis_url"}},
        "systems": {},
        "logs": str(work),
    }
    results["config"]["json_out"] = str(config.json_out) if config.json_out else None
    print(f"Machine: {results['machine']}", flush=True)
    try:
        await measure(config, results, data_dir, work)
    finally:
        # The logs and profiles are kept; the databases are not worth their disk.
        await asyncio.to_thread(shutil.rmtree, data_dir, True)
    results["targets"] = evaluate(results, config)
    results["comparison"] = compare(results, config)
    print_summary(results)
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nResults: {out}")
    if config.write_docs:
        path = write_docs(results)
        print(f"Wrote the Live rooms section of {path}")
    return results


async def cluster_figure(config: Config, data_dir: Path, work: Path, single: list[dict[str, Any]]) -> dict[str, Any]:
    """Kindred on a private Redis Cluster (3 masters, a replica each; sharded pub/sub) at the reference rate and at
    the single-Redis run's sustained rate, beside the single-Redis steps at those rates."""
    best = sustained(single)
    rates = sorted({config.reference_rate, *([best["rate"]] if best else [])})
    cluster_config = dataclasses.replace(config, redis_cluster=True, clients=config.clients)
    steps: list[dict[str, Any]] = []
    print("\n== kindred on a 3-master Redis Cluster ==", flush=True)
    # A fresh Postgres too, so the cluster's subscribers join an empty room as the single-Redis ones did (its
    # history would make the joins dearer). Correctness does not need it: see Publisher.run, docs/benchmarks.md.
    async with _setup.services(None, None, data_dir / "cluster", redis_cluster=True) as cluster_urls:
        fresh = await _setup.seed(
            cluster_urls["database"],
            subscribers=config.clients,
            idle=0,
            hide_presence=config.presence == "hidden",
            publishers=config.publishers,
        )
        system = System("kindred", cluster_config, fresh, cluster_urls, work)
        try:
            await system.start()
            join = await system.join_subscribers()
            await system.step(min(rates), min(1.0, config.duration))  # warm-up, not reported
            for rate in rates:
                result = await system.step(rate, config.duration)
                print_step("cluster", result)
                steps.append(result)
        finally:
            await system.stop()
    # The sustained rate is often a bisection step, which at_rate leaves out: take that step itself.
    beside = [best if best and rate == best["rate"] else at_rate(single, rate) for rate in rates]
    return {"join": join, "steps": steps, "single": beside}


async def measure(config: Config, results: dict[str, Any], data_dir: Path, work: Path) -> None:
    """Every phase, for every system; fills results["systems"]."""
    async with services(config, data_dir / "data") as urls:
        seeded = await _setup.seed(
            urls["database"],
            subscribers=config.clients,
            idle=config.idle_sockets,
            hide_presence=config.presence == "hidden",
            publishers=config.publishers,
        )
        systems = {name: System(name, config, seeded, urls, work) for name in config.systems}
        for name in systems:
            results["systems"][name] = {}
        try:
            for system in systems.values():
                await system.start()
            for name, system in systems.items():
                if config.idle_sockets:
                    print(f"\n== {name}: {config.idle_sockets:,} idle sockets ==", flush=True)
                    results["systems"][name]["idle"] = await system.idle_memory(config.idle_sockets)
                    print(f"  {results['systems'][name]['idle']}", flush=True)
            for name, system in systems.items():
                print(f"\n== {name}: joining {config.clients:,} subscribers ==", flush=True)
                results["systems"][name]["join"] = await system.join_subscribers()
                print(f"  {results['systems'][name]['join']}", flush=True)
            print("\n== fan-out ==", flush=True)
            for name, steps in (await ramp(systems, config)).items():
                results["systems"][name]["steps"] = steps
            kindred = systems.get("kindred")
            if kindred is not None and config.profile != "never":
                missed = [target for target in evaluate(results, config) if not target["pass"]]
                if config.profile == "always" or missed:
                    done = results["systems"]["kindred"]["steps"]
                    failing = [step["rate"] for step in done if not step["pass"]]
                    rate = min(failing) if failing else max(step["rate"] for step in done)
                    print(f"\n== profiling kindred at {rate:g} msg/s with py-spy ==", flush=True)
                    results["systems"]["kindred"]["profile"] = await kindred.profile(rate, work)
                    print_step("kindred", results["systems"]["kindred"]["profile"]["step"])
                    ceiling = systems.get("ceiling")
                    if ceiling is not None:
                        # The same rate on the bare stack, to see what Kindred adds.
                        results["systems"]["ceiling"]["profile"] = await ceiling.profile(rate, work)
                        print_step("ceiling", results["systems"]["ceiling"]["profile"]["step"])
            if config.many_rooms:
                print(f"\n== many rooms: {config.many_rooms:,} × {config.many_members} members ==", flush=True)
                many = await _setup.seed_many_rooms(
                    urls["database"],
                    rooms=config.many_rooms,
                    members=config.many_members,
                    hide_presence=config.presence == "hidden",
                )
                for name in config.many_systems:
                    if name in systems:
                        entry = results["systems"][name]
                        entry["many_rooms"] = await systems[name].many_rooms(many, config.many_rates, config.duration)
        finally:
            for name, system in systems.items():
                entry = results["systems"][name]
                entry["server_logs"] = [str(server.log_path) for server in system.servers]
                entry["server_errors"] = [
                    line
                    for server in system.servers
                    for line in server.log_tail(1_000_000).splitlines()
                    if "Traceback" in line or "ERROR" in line or "Exception" in line
                ][:20]
                entry.setdefault("steps", [])
                await system.stop()
    kindred_steps = results["systems"].get("kindred", {}).get("steps")
    if config.cluster_figure and kindred_steps and not config.redis_cluster:
        results["cluster"] = await cluster_figure(config, data_dir, work, kindred_steps)


def parse_args(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000, help="subscribers in the room (default 1000)")
    parser.add_argument(
        "--rates",
        default=",".join(str(rate) for rate in DEFAULT_RATES),
        help="comma-separated publisher rates in messages/s, tried in rising order",
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per rate step (default 5)")
    parser.add_argument("--idle-sockets", type=int, default=10_000, help="idle sockets for the memory figure (0: skip)")
    parser.add_argument("--workers", type=int, default=2, help="client processes (default 2)")
    parser.add_argument(
        "--systems", default="ceiling,kindred,socketio,channels", help="which systems to run (default all four)"
    )
    parser.add_argument("--reference-rate", type=float, default=20.0, help="rate whose p99 is compared (default 20)")
    parser.add_argument("--refine", type=int, default=2, help="bisection steps after the first failing rate")
    parser.add_argument(
        "--presence",
        choices=["hidden", "visible"],
        default="hidden",
        help="fan-out subscribers hide their presence (default) or show it (every join broadcasts the member list)",
    )
    parser.add_argument(
        "--publishers",
        type=int,
        default=1,
        help="sockets the rate is split over (default 1, as the targets assume; more shows the send path's limit)",
    )
    parser.add_argument("--drain-timeout", type=float, default=10.0, help="seconds to wait for stragglers per step")
    parser.add_argument("--profile", choices=["auto", "always", "never"], default="auto")
    parser.add_argument("--write-docs", action="store_true", help="write the figures into docs/benchmarks.md")
    parser.add_argument("--json-out", type=Path, help="where to write the JSON results")
    parser.add_argument("--database-url", help="use this (migrated) Postgres database instead of a private one")
    parser.add_argument("--redis-url", help="use this Redis instead of a private one")
    parser.add_argument("--redis-prefix", default="bench:", help="prefix of the bench's Redis keys and channels")
    parser.add_argument(
        "--redis-cluster",
        action="store_true",
        help="a private Redis Cluster (3 masters + replicas, redis-server 7) instead of one Redis: the cluster figure "
        "(with --redis-url: that URL names a cluster node)",
    )
    parser.add_argument("--many-rooms", type=int, default=1000, help="rooms of the many-rooms figure (0: skip)")
    parser.add_argument("--many-members", type=int, default=10, help="members per room of the many-rooms figure")
    parser.add_argument(
        "--many-publishers",
        type=int,
        default=1,
        help="sockets the many-rooms rate is split over, alternating processes (default 1)",
    )
    parser.add_argument("--many-rates", default="50,100,200,400,800", help="total msg/s over all rooms, rising")
    parser.add_argument(
        "--many-systems", default="ceiling,kindred", help="systems of the many-rooms figure (default ceiling,kindred)"
    )
    parser.add_argument(
        "--no-cluster-figure",
        action="store_true",
        help="skip the cluster figure (Kindred re-run on a private 3-master Redis Cluster after the single-Redis run)",
    )
    args = parser.parse_args(argv)
    rates = [float(rate) for rate in args.rates.split(",") if rate.strip()]
    if args.reference_rate not in rates:
        rates.append(args.reference_rate)
    systems = [name.strip() for name in args.systems.split(",") if name.strip()]
    unknown = set(systems) - {"ceiling", "kindred", *_peers.PEERS}
    if unknown:
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}")
    # Ceiling first: its figures decide whether Kindred missed a target and needs profiling.
    systems.sort(key=lambda name: name != "ceiling")
    if args.redis_cluster and args.write_docs:
        parser.error("--write-docs writes the single-Redis figures; write a cluster run's figures by hand")
    if args.clients < 2 or args.workers < 1 or args.publishers < 1:
        parser.error("--clients must be at least 2, --workers and --publishers at least 1")
    return Config(
        clients=args.clients,
        rates=sorted(rates),
        duration=args.duration,
        idle_sockets=args.idle_sockets,
        workers=args.workers,
        systems=systems,
        reference_rate=args.reference_rate,
        refine=args.refine,
        presence=args.presence,
        publishers=args.publishers,
        drain_timeout=args.drain_timeout,
        profile=args.profile,
        write_docs=args.write_docs,
        json_out=args.json_out,
        database_url=args.database_url,
        redis_url=args.redis_url,
        redis_prefix=args.redis_prefix,
        redis_cluster=args.redis_cluster,
        cluster_figure=not args.no_cluster_figure,
        many_rooms=args.many_rooms,
        many_members=args.many_members,
        many_publishers=args.many_publishers,
        many_rates=[float(rate) for rate in args.many_rates.split(",") if rate.strip()],
        many_systems=[name.strip() for name in args.many_systems.split(",") if name.strip()],
    )


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    uvloop.run(run(config))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark set-up: private Postgres + Redis, seeded users and sessions, server processes, machine facts."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import platform
import resource
import secrets
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import psutil  # type: ignore[import-untyped]

from server.embedded import free_port

ROOT = Path(__file__).resolve().parents[1]
# Every bench account shares this one argon2 hash: hashing once keeps seeding 11,000 users fast.
BENCH_PASSWORD = "bench-only-password-never-used"
# One origin for every server process; the clients send it, so the /ws Origin check passes.
BENCH_ORIGIN = "http://127.0.0.1:8000"
FAN_OUT_SLUG = "bench"
IDLE_ROOM_SIZE = 100


def raise_fd_limit() -> int:
    """Lift this process's open-file limit to the hard limit (children inherit it); returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# --- seeding ---------------------------------------------------------------------------------


@dataclass
class Seeded:
    """What the clients need: the fan-out room, cookies for every account, and the idle rooms."""

    room: str
    publisher_tokens: list[str]
    subscriber_tokens: list[str]
    idle: list[tuple[str, str]]  # (session token, room) per idle socket
    users: int = 0


def _token() -> tuple[str, bytes]:
    token = secrets.token_urlsafe(32)
    return token, hashlib.sha256(token.encode()).digest()


async def _users(connection: asyncpg.Connection, prefix: str, count: int, password_hash: str) -> list[int]:
    rows = await connection.fetch(
        """INSERT INTO users (username, display_name, password_hash)
           SELECT $1 || g, 'Bench ' || $1 || g, $3 FROM generate_series(1, $2) AS g
           RETURNING id""",
        prefix,
        count,
        password_hash,
    )
    return [int(row["id"]) for row in rows]


async def _community(connection: asyncpg.Connection, slug: str) -> tuple[int, int]:
    community_id = await connection.fetchval(
        "INSERT INTO communities (slug, name, hold_first_posts) VALUES ($1, $2, false) RETURNING id",
        slug,
        f"Benchmark {slug}",
    )
    room_id = await connection.fetchval(
        """INSERT INTO rooms (community_id, slug, name, is_main, slow_mode_seconds)
           VALUES ($1, 'main', 'Main room', true, 0) RETURNING id""",
        community_id,
    )
    return int(community_id), int(room_id)


async def _members(
    connection: asyncpg.Connection, community_id: int, user_ids: list[int], role: str = "member"
) -> None:
    await connection.copy_records_to_table(
        "memberships",
        records=[(community_id, user_id, role, 100) for user_id in user_ids],
        columns=["community_id", "user_id", "role", "approved_posts"],
    )
    await connection.execute(
        "UPDATE communities SET member_count = member_count + $2 WHERE id = $1", community_id, len(user_ids)
    )


async def _sessions(connection: asyncpg.Connection, user_ids: list[int]) -> list[str]:
    expires = datetime.now(UTC) + timedelta(days=30)
    tokens: list[str] = []
    records = []
    for user_id in user_ids:
        token, id_hash = _token()
        tokens.append(token)
        records.append((id_hash, user_id, secrets.token_urlsafe(32), expires, "bench"))
    await connection.copy_records_to_table(
        "sessions", records=records, columns=["id_hash", "user_id", "csrf_token", "expires_at", "user_agent"]
    )
    return tokens


async def seed(database_url: str, *, subscribers: int, idle: int, hide_presence: bool, publishers: int = 1) -> Seeded:
    """A fan-out community (leaders who publish, `subscribers` members) and idle rooms of 100 members.

    Each publisher is a leader: leaders are exempt from the per-member message rate limit and
    from slow mode, which is off anyway. With hide_presence, the fan-out subscribers hide their
    presence in the room (room_members.hide_presence), so joining does not broadcast the member
    list to everyone; the idle rooms always keep presence visible.
    """
    from server.passwords import hash_password

    password_hash = hash_password(BENCH_PASSWORD)
    connection = await asyncpg.connect(database_url)
    try:
        async with connection.transaction():
            community_id, room_id = await _community(connection, FAN_OUT_SLUG)
            publisher = await _users(connection, "bench-pub-", publishers, password_hash)
            subs = await _users(connection, "bench-sub-", subscribers, password_hash)
            await _members(connection, community_id, publisher, "leader")
            await _members(connection, community_id, subs)
            if hide_presence:
                await connection.copy_records_to_table(
                    "room_members",
                    records=[(room_id, user_id, True) for user_id in subs],
                    columns=["room_id", "user_id", "hide_presence"],
                )
            publisher_tokens = await _sessions(connection, publisher)
            subscriber_tokens = await _sessions(connection, subs)
            idle_ids = await _users(connection, "bench-idle-", idle, password_hash)
            idle_tokens = await _sessions(connection, idle_ids)
            idle_pairs: list[tuple[str, str]] = []
            for start in range(0, idle, IDLE_ROOM_SIZE):
                slug = f"bench-idle-{start // IDLE_ROOM_SIZE + 1}"
                idle_community, _ = await _community(connection, slug)
                await _members(connection, idle_community, idle_ids[start : start + IDLE_ROOM_SIZE])
                idle_pairs += [(token, f"{slug}/main") for token in idle_tokens[start : start + IDLE_ROOM_SIZE]]
    finally:
        await connection.close()
    return Seeded(
        f"{FAN_OUT_SLUG}/main", publisher_tokens, subscriber_tokens, idle_pairs, publishers + subscribers + idle
    )


@dataclass
class ManyRooms:
    """The many-rooms figure's data: room names, one leader in every room, and (token, room) per member socket."""

    rooms: list[str]
    publisher_token: str
    members: list[tuple[str, str]]


async def seed_many_rooms(database_url: str, *, rooms: int, members: int, hide_presence: bool) -> ManyRooms:
    """`rooms` communities of `members` members each (ordered room by room), and one leader of them all who publishes."""
    from server.passwords import hash_password

    password_hash = hash_password(BENCH_PASSWORD)
    connection = await asyncpg.connect(database_url)
    try:
        async with connection.transaction():
            leader = await _users(connection, "bench-many-pub-", 1, password_hash)
            user_ids = await _users(connection, "bench-many-", rooms * members, password_hash)
            leader_token = (await _sessions(connection, leader))[0]
            tokens = await _sessions(connection, user_ids)
            names: list[str] = []
            pairs: list[tuple[str, str]] = []
            for number in range(rooms):
                slug = f"bench-many-{number + 1}"
                community_id, room_id = await _community(connection, slug)
                ids = user_ids[number * members : (number + 1) * members]
                await _members(connection, community_id, leader, "leader")
                await _members(connection, community_id, ids)
                if hide_presence:
                    await connection.copy_records_to_table(
                        "room_members",
                        records=[(room_id, user_id, True) for user_id in ids],
                        columns=["room_id", "user_id", "hide_presence"],
                    )
                names.append(f"{slug}/main")
                pairs += [(token, f"{slug}/main") for token in tokens[number * members : (number + 1) * members]]
    finally:
        await connection.close()
    return ManyRooms(names, leader_token, pairs)


# --- server processes ------------------------------------------------------------------------


def procfile_web_command() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError("the Procfile has no web: line")


@dataclass
class ServerProcess:
    """One uvicorn process of the system under test, started from the Procfile's web command."""

    system: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    started_at: float = field(default_factory=time.monotonic)
    ws_path: str = "/ws"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{self.ws_path}"

    def rss(self) -> int:
        """Resident memory of the server process (and any children), in bytes."""
        proc = psutil.Process(self.process.pid)
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            total += child.memory_info().rss
        return int(total)

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    def log_tail(self, chars: int = 3000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-chars:]

    def stop(self, timeout: float = 20) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _start(system: str, command: str, env: dict[str, str], port: int, log_dir: Path, cwd: Path = ROOT) -> ServerProcess:
    log_path = log_dir / f"{system}-{port}.log"
    handle = log_path.open("wb")
    process = subprocess.Popen(
        ["sh", "-c", "exec " + command],
        cwd=cwd,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    server = ServerProcess(system, port, process, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{system} process exited during start-up:\n{server.log_tail()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{system} process did not answer /healthz within 60s:\n{server.log_tail()}")


def _base_env(port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_CONCURRENCY": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def start_kindred(
    database_url: str, redis_url: str, prefix: str, log_dir: Path, *, pool_max: int = 10, redis_cluster: bool = False
) -> ServerProcess:
    """A Kindred web process exactly as the Procfile runs it, in production mode, on one bench origin."""
    port = free_port()
    env = _base_env(port)
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "KINDRED_REDIS_PREFIX": prefix,
            "KINDRED_REDIS_CLUSTER": "1" if redis_cluster else "0",
            "KINDRED_ENV": "production",
            "KINDRED_SITE_ORIGIN": BENCH_ORIGIN,
            "KINDRED_DEMO_DATA": "0",
            "KINDRED_DB_POOL_MAX": str(pool_max),
            # The load comes from one address and a few sessions: read limits far above it, so every
            # request still pays for its count in Redis (what the figures should include) but none is refused.
            "KINDRED_READ_LIMIT_SESSION": str(10**9),
            "KINDRED_READ_LIMIT_IP": str(10**9),
        }
    )
    return _start("kindred", procfile_web_command(), env, port, log_dir)


def start_ceiling(redis_url: str, prefix: str, log_dir: Path) -> ServerProcess:
    """The bare ceiling app under the Procfile's uvicorn flags, only the application swapped."""
    port = free_port()
    env = _base_env(port)
    env.update({"CEILING_REDIS_URL": redis_url, "CEILING_PREFIX": prefix})
    command = procfile_web_command().replace("server.asgi:app", "bench.ceiling_app:app", 1)
    if "bench.ceiling_app:app" not in command:
        raise RuntimeError(f"cannot derive the ceiling command from the Procfile: {command}")
    return _start("ceiling", command, env, port, log_dir)


# --- Postgres and Redis ----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def services(
    database_url: str | None, redis_url: str | None, data_dir: Path, *, redis_cluster: bool = False
) -> AsyncIterator[dict[str, str]]:
    """The given Postgres/Redis, or private ones in data_dir (migrated). redis_cluster: unless redis_url is
    given, a private Redis Cluster of 3 masters with a replica each (bench/redis_cluster.py) instead of one Redis."""
    if database_url and redis_url:
        yield {"database": database_url, "redis": redis_url, "redis_pid": "", "pgdata": ""}
        return
    from bench.redis_cluster import LocalCluster
    from server.db import migrate
    from server.embedded import EmbeddedServices

    embedded = EmbeddedServices(data_dir)
    cluster = LocalCluster(data_dir / "cluster") if redis_cluster and not redis_url else None
    await asyncio.to_thread(embedded.start, need_postgres=not database_url, need_redis=not redis_url and not cluster)
    try:
        if cluster is not None:
            await asyncio.to_thread(cluster.start)
        database = database_url or (embedded.postgres.url if embedded.postgres else "")
        if not database_url:
            await asyncio.to_thread(migrate.upgrade, database)
        redis_process = embedded.redis.process if embedded.redis else None
        yield {
            "database": database,
            "redis": redis_url or (cluster.url if cluster else embedded.redis.url if embedded.redis else ""),
            "redis_pid": str(redis_process.pid if redis_process else ""),
            "pgdata": str(embedded.postgres.pgdata if embedded.postgres else ""),
        }
    finally:
        if cluster is not None:
            await asyncio.to_thread(cluster.stop)
        await asyncio.to_thread(embedded.stop)


# --- the machine -----------------------------------------------------------------------------


def machine() -> dict[str, object]:
    """Facts about the machine the figures come from."""
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count() or 0
    return {
        "nproc": nproc,
        "cpu_model": cpu_model,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
    }


def command_line(module: str = "bench.live") -> str:
    return f"python -m {module} " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])

"""Test harness: private servers, a database per test, real uvicorn servers and separate web processes."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import uvicorn
from starlette.applications import Starlette

from channels.websocket_protocol import UVICORN_WS
from server.app import create_app
from server.embedded import free_port
from server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
_counter = itertools.count(1)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{next(_counter)}"


def with_database(url: str, database: str) -> str:
    """The same server URL, pointing at another database."""
    scheme, rest = url.split("://", 1)
    authority, _, tail = rest.partition("/")
    query = ""
    if "?" in tail:
        query = "?" + tail.split("?", 1)[1]
    return f"{scheme}://{authority}/{database}{query}"


@dataclass
class LiveServer:
    """A real uvicorn server for one app, on a loopback port, inside the test's event loop."""

    app: Starlette
    port: int
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


def listener_with_send_buffer(port: int, send_buffer: int) -> socket.socket:
    """A loopback listening socket whose accepted sockets inherit a small kernel send buffer, so a
    client that stops reading pushes back on the server after kilobytes instead of megabytes."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    listener.bind(("127.0.0.1", port))
    return listener


@contextlib.asynccontextmanager
async def live_server(settings: Settings, *, send_buffer: int | None = None) -> AsyncIterator[LiveServer]:
    """send_buffer: a small kernel send buffer for accepted sockets, so a client that stops reading
    pushes back on the server after kilobytes instead of megabytes (accepted sockets inherit it)."""
    app = create_app(settings.with_overrides(site_origin=f"http://127.0.0.1:{settings.port}"))
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=settings.port,
        loop="none",
        http="httptools",
        ws=UVICORN_WS,
        ws_max_size=65536,  # channels.protocol.MAX_FRAME_BYTES: larger frames are closed with 1009
        # Compression is per socket: it would undo encoding each event once per process (see README).
        ws_per_message_deflate=False,
        lifespan="on",
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    sockets = [listener_with_send_buffer(settings.port, send_buffer)] if send_buffer is not None else None
    task = asyncio.create_task(server.serve(sockets=sockets))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the test server stopped during start-up")
        await asyncio.sleep(0.01)
    try:
        yield LiveServer(app, settings.port, server, task)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@dataclass
class WebProcess:
    """One `web:` process from the Procfile, started as its own OS process."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def procfile_command(kind: str = "web") -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{kind}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"Procfile has no {kind}: line")


def start_web_process(
    settings: Settings,
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
    *,
    own_origin: bool = False,
    port: int | None = None,
) -> WebProcess:
    """own_origin: the process's site origin is its own address (a browser talks to it directly).
    port: the one to listen on (a process restarted where a load balancer expects it), else a free one."""
    port = port or free_port()
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "DATABASE_URL": settings.database_url or "",
            "REDIS_URL": settings.redis_url or "",
            "KINDRED_REDIS_PREFIX": settings.redis_prefix,
            "KINDRED_ENV": "test",
            "KINDRED_SITE_ORIGIN": f"http://127.0.0.1:{port}" if own_origin else settings.site_origin,
            "KINDRED_DEMO_DATA": "0",
            "WEB_CONCURRENCY": "1",
        }
    )
    env.update(extra_env or {})
    log_path = log_dir / f"web-{port}.log"
    handle = log_path.open("ab")
    process = subprocess.Popen(
        ["sh", "-c", "exec " + procfile_command("web")],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    web = WebProcess(port, process, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"web process exited during start-up:\n{web.log()}")
        try:
            if httpx.get(f"{web.base_url}/healthz", timeout=1).status_code in {200, 503}:
                return web
        except httpx.HTTPError:
            time.sleep(0.1)
    web.stop()
    raise RuntimeError(f"web process did not answer within 30s:\n{web.log()}")


@contextlib.contextmanager
def web_processes(
    settings: Settings,
    log_dir: Path,
    count: int = 2,
    extra_env: dict[str, str] | None = None,
    *,
    own_origin: bool = False,
) -> Iterator[list[WebProcess]]:
    started: list[WebProcess] = []
    try:
        for _ in range(count):
            started.append(start_web_process(settings, log_dir, extra_env, own_origin=own_origin))
        yield started
    finally:
        for web in started:
            web.stop()


async def create_database_from_template(admin_url: str, name: str, template: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await connection.close()


async def drop_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@dataclass
class Services:
    """URLs of the Postgres and Redis the suite runs against."""

    database_url: str
    redis_url: str
    template_database: str = "kindred_template"
    stop_callbacks: list[object] = field(default_factory=list)

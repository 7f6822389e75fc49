"""`make run`: start private Postgres and Redis when no URLs are given, migrate, load the catalogue and demo data, serve."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
import sys
import time
from pathlib import Path

import redis

from server.settings import Settings

if sys.version_info < (3, 11):  # pragma: no cover - the Makefile checks before the venv exists
    raise SystemExit(f"kindred: Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")

log = logging.getLogger("kindred")


class StartupError(Exception):
    """A problem a new user can fix; printed as one line."""


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupError(
                    f"Port {port} on {host} is already in use: stop the other program or run `PORT={port + 1} make run`."
                ) from exc
            raise StartupError(
                f"Cannot listen on {host}:{port} ({exc.strerror}): set HOST and PORT to usable values."
            ) from exc


async def _check_database(url: str) -> None:
    import asyncpg

    try:
        connection = await asyncio.wait_for(asyncpg.connect(url), timeout=5)
    except Exception as exc:
        raise StartupError(
            f"Cannot reach the database at DATABASE_URL ({type(exc).__name__}: {exc}): check the URL, "
            "or unset DATABASE_URL to use the private one."
        ) from exc
    await connection.close()


def check_redis(url: str) -> None:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:
        raise StartupError(
            f"Cannot reach Redis at REDIS_URL ({type(exc).__name__}: {exc}): check the URL, or unset REDIS_URL to use the private one."
        ) from exc


async def _load_catalogue(database_url: str) -> bool:
    from server.actions.catalogue import load_if_empty
    from server.db.pool import connect

    connection = await connect(database_url)
    try:
        return await load_if_empty(connection)
    finally:
        await connection.close()


async def _load_demo(database_url: str) -> bool:
    from server.db.pool import connect
    from server.demo import load_demo_data

    connection = await connect(database_url)
    try:
        return await load_demo_data(connection)
    finally:
        await connection.close()


def prepare(settings: Settings) -> None:
    """Migrate, load the catalogue once (about 5 s, the first time only) and the demo data."""
    from server.db import migrate

    assert settings.database_url
    migrate.upgrade(settings.database_url)
    started = time.perf_counter()
    if asyncio.run(_load_catalogue(settings.database_url)):
        log.info("Loaded the rare-disease catalogue in %.1f s (docs/catalogue.md).", time.perf_counter() - started)
    if settings.load_demo_data and asyncio.run(_load_demo(settings.database_url)):
        log.info("Loaded the demo communities and accounts (see README for the demo logins).")


def serve(settings: Settings) -> None:
    import uvicorn

    from channels.websocket_protocol import UVICORN_WS
    from server.app import create_app, tune_garbage_collector

    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        ws=UVICORN_WS,
        ws_max_size=65536,  # channels.protocol.MAX_FRAME_BYTES: larger frames are closed with 1009
        # Compression is per socket: it would undo encoding each event once per process (see README).
        ws_per_message_deflate=False,
        proxy_headers=False,
        log_level="info",
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    tune_garbage_collector()
    server.run()


class _Terminated(Exception):
    """SIGTERM arrived: leave through the same clean-up path as Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def main() -> int:
    # uvicorn shuts down gracefully on SIGINT/SIGTERM and then re-raises the signal; these
    # handlers turn that into an exception so the private Postgres and Redis are stopped too.
    signal.signal(signal.SIGTERM, _on_sigterm)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = Settings.from_env()
    # URLs given by the environment are checked before use; the private servers' URLs need no check.
    external_database, external_redis = bool(settings.database_url), bool(settings.redis_url)
    services = None
    try:
        check_port_free(settings.host, settings.port)
        if not settings.database_url or not settings.redis_url:
            from server.embedded import EmbeddedError, EmbeddedServices

            services = EmbeddedServices(Path(settings.data_dir))
            try:
                services.start(need_postgres=not settings.database_url, need_redis=not settings.redis_url)
            except EmbeddedError as exc:
                raise StartupError(str(exc)) from exc
            changes: dict[str, object] = {}
            if services.postgres:
                changes["database_url"] = services.postgres.url
                log.info(
                    "Private PostgreSQL running on port %s (data in %s)",
                    services.postgres.port,
                    services.postgres.pgdata,
                )
            if services.redis:
                changes["redis_url"] = services.redis.url
                log.info("Private Redis running on port %s", services.redis.port)
            settings = settings.with_overrides(**changes)
        if external_database:
            asyncio.run(_check_database(settings.database_url or ""))
        if external_redis:
            check_redis(settings.redis_url or "")
        prepare(settings)
        log.info("Kindred is ready: %s", settings.site_origin)
        serve(settings)
    except StartupError as exc:
        print(f"kindred: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, _Terminated):
        pass
    finally:
        if services is not None:
            services.stop()
            log.info("Stopped the private PostgreSQL and Redis.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

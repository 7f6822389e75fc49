"""create_app(settings): routes, middleware, error handlers, and the lifespan that owns the pool and Redis."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import redis.asyncio as redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from server import errors, metrics
from server.db.pool import create_pool
from server.ratelimit import RateLimiter
from server.routes import accounts, health, pages
from server.security import SecurityHeadersMiddleware
from server.settings import Settings
from server.templating import Templates
from server.web import RequestContextMiddleware

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def build_routes() -> list[BaseRoute]:
    return [
        *health.routes,
        *metrics.routes,
        *pages.routes,
        *accounts.routes,
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not settings.database_url or not settings.redis_url:
            raise RuntimeError("DATABASE_URL and REDIS_URL must be set (make run sets them for you).")
        try:
            app.state.db = await create_pool(
                settings.database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
            )
        except (OSError, asyncpg.PostgresError) as exc:
            raise RuntimeError(f"Cannot reach the database at DATABASE_URL: {exc}") from exc
        # Redis may be down at start-up: the app still serves and commits (the live layer
        # catches up from Postgres when Redis returns), so the client connects lazily.
        app.state.redis = redis.Redis.from_url(
            settings.redis_url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=10
        )
        app.state.limiter = RateLimiter(app.state.redis, settings.redis_prefix)
        try:
            yield
        finally:
            await app.state.redis.aclose()
            await app.state.db.close()

    app = Starlette(
        routes=build_routes(),
        middleware=[Middleware(SecurityHeadersMiddleware), Middleware(RequestContextMiddleware)],
        exception_handlers={errors.AppError: errors.app_error_handler, HTTPException: errors.http_error_handler},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.templates = Templates()
    app.state.metrics = metrics.Metrics()
    # Callbacks run after a logout (the live layer registers one to close that member's sockets).
    app.state.on_logout = []
    return app

"""create_app(settings): routes, middleware, error handlers, and the lifespan that owns the pool and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from channels.redis_client import command_client
from server import errors, metrics
from server.actions import events
from server.actions import flags as flag_actions
from server.db.pool import create_pool
from server.live import HeadReader, LiveService
from server.ratelimit import RateLimiter, ReadLimits
from server.routes import error_pages, health, live
from server.routes.api import accounts as api_accounts
from server.routes.api import catalogue as api_catalogue
from server.routes.api import communities as api_communities
from server.routes.api import community_content as api_community_content
from server.routes.api import conversations as api_conversations
from server.routes.api import families as api_families
from server.routes.api import forum as api_forum
from server.routes.api import invites as api_invites
from server.routes.api import moderation as api_moderation
from server.routes.api import notifications as api_notifications
from server.routes.api import proposals as api_proposals
from server.routes.api import pseudonyms as api_pseudonyms
from server.routes.api import search as api_search
from server.routes.api import support as api_support
from server.routes.pages import (
    accounts,
    chat_knowledge,
    communities,
    conversations,
    crisis,
    experts,
    families,
    flags,
    forum,
    message_moderation,
    moderation,
    notifications,
    profiles,
    proposals,
    reading,
    resources,
    review,
    rooms,
    search,
    threads,
)
from server.routes.pages import settings as settings_pages
from server.routes.read_limits import ReadLimitMiddleware
from server.security import SecurityHeadersMiddleware
from server.settings import Settings
from server.templating import Templates
from server.web import RequestContextMiddleware

# A fan-out creates and drops a few objects per socket per message; with the default 700 the
# young generation is collected mid-fan-out and the survivors pile up into full collections.
GC_YOUNG_THRESHOLD = 10_000


def tune_garbage_collector() -> None:
    """For a server process, once the app is built: fewer and shorter full collections.

    Everything loaded so far (modules, the app, its routes) lives as long as the process: frozen,
    it is left out of the collector's full passes, each of which otherwise stalls every socket
    of the process for tens of milliseconds (docs/benchmarks.md, latency at 20 msg/s).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD)


STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


class KindredApp(Starlette):
    """Starlette with the security headers outermost, so even a 500 from its error middleware carries the CSP.

    Websocket upgrades skip the HTTP middleware and the router: they only need who is asking
    (RequestContextMiddleware), and an open socket holds every coroutine on its way suspended.
    """

    websocket_app: ASGIApp = RequestContextMiddleware(live.websocket_app)

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeadersMiddleware(super().build_middleware_stack())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # What this request or socket commits is published by this app's live service.
        events.use_publisher(getattr(self.state, "live", None))
        if scope["type"] == "websocket":
            scope["app"] = self
            await self.websocket_app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def build_routes() -> list[BaseRoute]:
    return [
        *health.routes,
        *metrics.routes,
        *accounts.routes,
        *rooms.routes,
        *moderation.routes,
        *message_moderation.routes,
        *reading.routes,
        *review.routes,
        *crisis.routes,
        *flags.routes,
        *experts.routes,
        *chat_knowledge.routes,
        *profiles.routes,
        *settings_pages.routes,
        *api_support.routes,
        *api_accounts.routes,
        *communities.routes,
        *resources.routes,
        *proposals.routes,
        *api_communities.routes,
        *api_community_content.routes,
        *api_proposals.routes,
        *api_catalogue.routes,
        *forum.routes,
        *threads.routes,
        *search.routes,
        *notifications.routes,
        *api_forum.routes,
        *api_search.routes,
        *api_notifications.routes,
        *api_moderation.routes,
        *api_invites.routes,
        *api_pseudonyms.routes,
        *families.routes,
        *api_families.routes,
        *conversations.routes,
        *api_conversations.routes,
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
        app.state.redis = command_client(
            settings.redis_url, cluster=settings.redis_cluster, max_connections=settings.redis_pool_max
        )
        app.state.limiter = RateLimiter(app.state.redis, settings.redis_prefix)
        live_service = LiveService(
            settings.redis_url,
            settings.redis_prefix,
            app.state.redis,
            app.state.metrics,
            HeadReader(app.state.db),
            presence_ttl=settings.presence_ttl,
            publish_connections=settings.redis_pool_max,
            cluster=settings.redis_cluster,
        )
        await live_service.start()
        app.state.live = live_service

        async def close_logged_out_sockets(user_id: int | None, session_hash: bytes | None) -> None:
            if user_id is not None:
                await live_service.close_user_sockets(user_id, session_hash=session_hash)

        app.state.on_logout.append(close_logged_out_sockets)
        # Flags nobody handles in time go to the site admins, even when no review page is opened.
        events.use_publisher(live_service)
        escalation = asyncio.create_task(
            flag_actions.run_escalation(app.state.db, settings.flag_escalate_minutes, settings.flag_sweep_seconds)
        )
        try:
            yield
        finally:
            escalation.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await escalation
            await live_service.stop()
            await app.state.redis.aclose()
            await app.state.db.close()

    app = KindredApp(
        routes=build_routes(),
        # Reads are counted once who is asking is known (the session), before any handler runs.
        middleware=[Middleware(RequestContextMiddleware), Middleware(ReadLimitMiddleware)],
        exception_handlers={
            errors.AppError: error_pages.app_error_handler,
            HTTPException: error_pages.http_error_handler,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.read_limits = ReadLimits.of(
        settings.read_limit_session, settings.read_limit_ip, settings.read_limit_window
    )
    app.state.templates = Templates()
    app.state.metrics = metrics.Metrics()
    # Callbacks run after a logout (the live layer registers one to close that member's sockets).
    app.state.on_logout = []
    return app

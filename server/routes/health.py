"""GET /healthz: the state of the database and of Redis, 200 when both answer, 503 otherwise (and /favicon.ico)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

CHECK_TIMEOUT_SECONDS = 2.0


async def _database_state(request: Request) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            async with request.app.state.db.acquire() as connection:
                await connection.fetchval("SELECT 1")
    except Exception:
        return "unreachable"
    return "ok"


async def _redis_state(request: Request) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await request.app.state.redis.ping()
    except Exception:
        return "unreachable"
    return "ok"


async def healthz(request: Request) -> JSONResponse:
    database, redis = await asyncio.gather(_database_state(request), _redis_state(request))
    healthy = database == "ok" and redis == "ok"
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "database": database, "redis": redis},
        status_code=200 if healthy else 503,
        headers={"cache-control": "no-store"},
    )


async def favicon(request: Request) -> RedirectResponse:
    # Browsers ask for /favicon.ico whatever the page says; point them at the real icon.
    return RedirectResponse("/static/favicon.svg", status_code=301)


routes = [Route("/healthz", healthz, methods=["GET"]), Route("/favicon.ico", favicon, methods=["GET"])]

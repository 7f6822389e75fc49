"""GET /healthz: the state of the database and of Redis, 200 when both answer, 503 otherwise (and /favicon.ico, /robots.txt)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse
from starlette.routing import Route

from server import robots
from server.actions import health


def _state(ok: bool) -> str:
    return "ok" if ok else "unreachable"


async def healthz(request: Request) -> JSONResponse:
    database_ok, redis_ok = await asyncio.gather(
        health.database_ok(request.app.state.db),
        health.redis_ok(request.app.state.redis),
    )
    healthy = database_ok and redis_ok
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "database": _state(database_ok), "redis": _state(redis_ok)},
        status_code=200 if healthy else 503,
        headers={"cache-control": "no-store"},
    )


async def favicon(request: Request) -> RedirectResponse:
    # Browsers ask for /favicon.ico whatever the page says; point them at the real icon.
    return RedirectResponse("/static/favicon.svg", status_code=301)


async def robots_txt(request: Request) -> PlainTextResponse:
    return PlainTextResponse(robots.robots_txt(), headers={"cache-control": "public, max-age=3600"})


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/favicon.ico", favicon, methods=["GET"]),
    Route("/robots.txt", robots_txt, methods=["GET"]),
]

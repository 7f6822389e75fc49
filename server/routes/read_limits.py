"""The read limit on HTTP: every page and API read is counted (server/ratelimit.py) before it is served."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from server import ratelimit
from server.errors import RateLimited
from server.routes import error_pages


class ReadLimitMiddleware:
    """Pure ASGI, inside RequestContextMiddleware (it needs the session): a read past the limit is
    answered 429 with Retry-After, as a page in the reader's language or as the API's JSON error."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not ratelimit.counts_as_read(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        limiter = getattr(state, "limiter", None)
        if limiter is None:  # not started (no lifespan): nothing to count with
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        try:
            await ratelimit.check_read(
                limiter,
                state.read_limits,
                session_hash=scope.get("state", {}).get("session_hash"),
                ip=client[0] if client else None,
            )
        except RateLimited as error:
            response = await error_pages.app_error_handler(Request(scope, receive), error)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

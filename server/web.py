"""Per-request context: the reader's language and time zone, and (once signed in) the user."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from server import i18n


class RequestContextMiddleware:
    """Sets the language for gettext before any handler or template runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in {"http", "websocket"}:
            headers = Headers(scope=scope)
            state = scope.setdefault("state", {})
            state.setdefault("user", None)
            i18n.set_request_locale(i18n.negotiate(headers.get("accept-language")), "UTC")
        await self.app(scope, receive, send)

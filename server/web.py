"""Per-request context: the signed-in user and session, the CSRF token, the language and time zone."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import auth, i18n
from server.db.queries import sessions

# Sliding expiry is refreshed at most this often, so reading pages does not write every time.
TOUCH_INTERVAL = timedelta(hours=1)


def _shows_header(scope: Scope) -> bool:
    """Requests that may answer with a page (so with the site header): not the API, assets or websockets."""
    path: str = scope["path"]
    return scope["type"] == "http" and not path.startswith(("/api/", "/static/"))


class RequestContextMiddleware:
    """Runs before every handler (HTTP and websocket): who is asking, in which language."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        # The parsed headers and cookies stay in _identify's frame, not in this one, which a
        # websocket keeps suspended for as long as it is open.
        set_csrf_cookie = await self._identify(scope)
        if set_csrf_cookie is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = scope["app"].state.settings.secure_cookies

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                cookie = f"{auth.CSRF_COOKIE}={set_csrf_cookie}; Path=/; HttpOnly; SameSite=Lax"
                response_headers.append("set-cookie", cookie + ("; Secure" if secure else ""))
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def _identify(self, scope: Scope) -> str | None:
        """Fill scope["state"] (user, session, CSRF token, language); returns a new CSRF cookie to set, if any."""
        headers = Headers(scope=scope)
        cookies = SimpleCookie()
        with contextlib.suppress(Exception):  # a malformed cookie header counts as no cookies
            cookies.load(headers.get("cookie", ""))
        state = scope.setdefault("state", {})
        state["user"] = None
        state["session_hash"] = None
        state["unread_count"] = 0
        session_cookie = cookies.get(auth.SESSION_COOKIE)
        session = None
        if session_cookie and session_cookie.value and scope["path"] not in {"/healthz", "/metrics"}:
            session = await self._load_session(scope, session_cookie.value)
        csrf_cookie = cookies.get(auth.CSRF_COOKIE)
        set_csrf_cookie: str | None = None
        if session is not None:
            state["user"] = session.user
            state["session_hash"] = session.id_hash
            state["csrf_token"] = session.csrf_token
        elif csrf_cookie and len(csrf_cookie.value) >= 32:
            state["csrf_token"] = csrf_cookie.value
        else:
            set_csrf_cookie = auth.new_token()
            state["csrf_token"] = set_csrf_cookie
        user = state["user"]
        language = i18n.negotiate(headers.get("accept-language"), user.language if user else None)
        state["language"] = language
        i18n.set_request_locale(language, user.time_zone if user else "UTC")
        return set_csrf_cookie

    async def _load_session(self, scope: Scope, token: str) -> sessions.Session | None:
        app_state = scope["app"].state
        id_hash = auth.hash_token(token)
        try:
            async with app_state.db.acquire() as connection:
                # Pages show the header's unread count, which the session query brings along.
                session = await sessions.active(connection, id_hash, count_unread=_shows_header(scope))
                if (
                    session is not None
                    and session.expires_at - datetime.now(UTC) < auth.SESSION_LIFETIME - TOUCH_INTERVAL
                ):
                    await sessions.touch(connection, id_hash, auth.SESSION_LIFETIME)
        except Exception:  # the database is down: serve the request as anonymous; handlers report the outage
            return None
        if session is not None:
            scope["state"]["unread_count"] = session.unread_count
        return session

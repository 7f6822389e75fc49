"""Sessions and CSRF: random session ids in an HttpOnly cookie, stored hashed on the server."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from server.db.queries.users import User
from server.errors import AppError

SESSION_COOKIE = "kindred_session"
CSRF_COOKIE = "kindred_csrf"
SESSION_LIFETIME = timedelta(days=30)


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    # A stolen copy of the sessions table cannot be replayed as cookies.
    return hashlib.sha256(token.encode()).digest()


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=secure, path="/")


def current_user(request: Request) -> User | None:
    user: User | None = request.state.user
    return user


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise AppError("unauthorized", 401, "Please log in first.")
    return user


def tokens_match(expected: str, given: str | None) -> bool:
    return bool(expected) and given is not None and hmac.compare_digest(expected.encode(), given.encode())


async def check_csrf(request: Request) -> None:
    """Every unsafe form carries the CSRF token of its session (or of the anonymous CSRF cookie)."""
    given: str | None = request.headers.get("x-csrf-token")
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            given = value if isinstance(value, str) else None
    if not tokens_match(request.state.csrf_token, given):
        raise AppError(
            "forbidden",
            403,
            "This form has expired or was not sent from Kindred. Please reload the page and try again.",
        )

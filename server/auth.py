"""Sessions and CSRF over HTTP: the session cookie (HttpOnly, stored hashed: server/tokens.py) and the form check."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

from server.db.queries.users import User
from server.errors import Refused
from server.tokens import SESSION_LIFETIME, hash_token, new_token

# Re-exported: the request context and tests reach tokens through this module.
__all__ = ["CSRF_COOKIE", "SESSION_COOKIE", "SESSION_LIFETIME", "hash_token", "new_token"]

SESSION_COOKIE = "kindred_session"
CSRF_COOKIE = "kindred_csrf"


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
        raise Refused("This form has expired or was not sent from Kindred. Please reload the page and try again.")

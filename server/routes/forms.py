"""Helpers for HTML forms: reading fields, safe redirects, re-rendering with errors."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse

from server.auth import check_csrf
from server.errors import AppError, InvalidInput
from server.i18n import _


async def read_form(request: Request) -> FormData:
    """The submitted form, after its CSRF token has been checked (403 otherwise)."""
    await check_csrf(request)
    return await request.form()


def text(form: FormData, name: str, limit: int = 100_000) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    if "\x00" in value:
        # Postgres text cannot hold NUL: a clear 400 about the field, not a 500 from the database.
        raise InvalidInput(_("This field cannot contain the NUL character (U+0000)."), field=name)
    return value[:limit]


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: an open redirect would help phishing."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def errors_for(error: AppError) -> dict[str, str]:
    """A refused form's message, next to the field it is about (or at the top of the form)."""
    return {error.field or "form": error.message}

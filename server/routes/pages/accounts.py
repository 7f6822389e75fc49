"""Register, log in, log out: forms that re-render with their messages and never lose what was typed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import auth
from server.actions import accounts
from server.errors import AppError
from server.routes.forms import client_ip, read_form, redirect, safe_next, text
from server.templating import render


async def register_page(request: Request) -> Response:
    if auth.current_user(request):
        return redirect("/")
    return render(
        request, "accounts/register.html", {"values": {}, "errors": {}, "next": request.query_params.get("next", "")}
    )


async def register(request: Request) -> Response:
    form = await read_form(request)
    values = {name: text(form, name, 300) for name in ("username", "display_name", "email")}
    next_url = safe_next(text(form, "next", 500))
    try:
        async with request.app.state.db.acquire() as connection:
            new = await accounts.do_register(
                connection,
                request.app.state.limiter,
                username=values["username"],
                password=text(form, "password", 1000),
                display_name=values["display_name"],
                email=values["email"],
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
    except AppError as error:
        errors = {error.field or "form": error.message}
        return render(
            request,
            "accounts/register.html",
            {"values": values, "errors": errors, "next": next_url},
            status=error.status,
        )
    response = redirect(next_url)
    auth.set_session_cookie(response, new.token, secure=request.app.state.settings.secure_cookies)
    return response


async def login_page(request: Request) -> Response:
    return render(
        request, "accounts/login.html", {"values": {}, "error": None, "next": request.query_params.get("next", "")}
    )


async def login(request: Request) -> Response:
    form = await read_form(request)
    username = text(form, "username", 300)
    next_url = safe_next(text(form, "next", 500))
    try:
        async with request.app.state.db.acquire() as connection:
            new = await accounts.do_login(
                connection,
                request.app.state.limiter,
                username=username,
                password=text(form, "password", 1000),
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
    except AppError as error:
        context = {"values": {"username": username}, "error": error.message, "next": next_url}
        return render(request, "accounts/login.html", context, status=error.status)
    response = redirect(next_url)
    # A fresh id at every login: a session id planted before login is worthless afterwards.
    auth.set_session_cookie(response, new.token, secure=request.app.state.settings.secure_cookies)
    return response


async def logout(request: Request) -> Response:
    await read_form(request)
    user_id = None
    if request.state.session_hash is not None:
        async with request.app.state.db.acquire() as connection:
            user_id = await accounts.do_logout(connection, request.state.session_hash)
    hooks = getattr(request.app.state, "on_logout", [])
    for hook in hooks:
        await hook(user_id, request.state.session_hash)
    response = redirect("/")
    auth.clear_session_cookie(response, secure=request.app.state.settings.secure_cookies)
    return response


routes = [
    Route("/register", register_page, methods=["GET"]),
    Route("/register", register, methods=["POST"]),
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]

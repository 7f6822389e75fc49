"""The settings page: profile, password, language and time zone, data download, account deletion."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import auth
from server.actions import accounts, profiles
from server.actions.access import User
from server.errors import AppError
from server.i18n import LANGUAGE_NAMES, SUPPORTED_LANGUAGES
from server.routes.api.support import json_response
from server.routes.forms import read_form, redirect, text
from server.templating import render

LOGIN_REDIRECT = "/login?next=/settings"
SAVED_NOTICES = {"profile", "password", "preferences"}


def _settings_page(
    request: Request,
    user: User,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    shown = {
        "display_name": user.display_name,
        "bio": user.bio,
        "language": user.language or "",
        "time_zone": user.time_zone,
        "confirm_username": "",
        "show_communities": "on" if user.show_communities else "",
        "show_posts": "on" if user.show_posts else "",
    }
    shown.update(values or {})
    zones = profiles.time_zones()
    context: dict[str, Any] = {
        "values": shown,
        "errors": errors or {},
        "saved": request.query_params.get("saved") if request.query_params.get("saved") in SAVED_NOTICES else None,
        "languages": [(code, LANGUAGE_NAMES[code]) for code in SUPPORTED_LANGUAGES],
        # The member's current zone stays selectable even if it is not in this server's list.
        "time_zones": zones if shown["time_zone"] in zones else (shown["time_zone"], *zones),
        "bio_limit": profiles.BIO_LIMIT,
    }
    return render(request, "settings/settings.html", context, status=status)


def _failed(request: Request, user: User, error: AppError, values: dict[str, str]) -> Response:
    return _settings_page(
        request, user, values=values, errors={error.field or "form": error.message}, status=error.status
    )


async def settings_page(request: Request) -> Response:
    user = auth.current_user(request)
    if user is None:
        return redirect(LOGIN_REDIRECT)
    return _settings_page(request, user)


async def save_profile(request: Request) -> Response:
    user = auth.current_user(request)
    if user is None:
        return redirect(LOGIN_REDIRECT)
    form = await read_form(request)
    values = {
        "display_name": text(form, "display_name", 300),
        "bio": text(form, "bio", 5000),
        "show_communities": text(form, "show_communities", 10),
        "show_posts": text(form, "show_posts", 10),
    }
    try:
        async with request.app.state.db.acquire() as connection:
            await profiles.do_update_profile(
                connection,
                user,
                display_name=values["display_name"],
                bio=values["bio"],
                show_communities=values["show_communities"] == "on",
                show_posts=values["show_posts"] == "on",
            )
    except AppError as error:
        return _failed(request, user, error, values)
    return redirect("/settings?saved=profile#profile")


async def change_password(request: Request) -> Response:
    user = auth.current_user(request)
    if user is None:
        return redirect(LOGIN_REDIRECT)
    form = await read_form(request)
    try:
        async with request.app.state.db.acquire() as connection:
            await accounts.do_change_password(
                connection,
                user,
                current=text(form, "current_password", 1000),
                new=text(form, "new_password", 1000),
                keep_session=request.state.session_hash,
            )
    except AppError as error:
        if error.field == "password":
            error.field = "new_password"
        return _failed(request, user, error, {})
    # Close the live sockets of the sessions that were just signed out (session None: all of the
    # member's sockets; this device's own reconnect at once, since its session is still valid).
    for hook in getattr(request.app.state, "on_logout", []):
        await hook(user.id, None)
    return redirect("/settings?saved=password#password")


async def save_preferences(request: Request) -> Response:
    user = auth.current_user(request)
    if user is None:
        return redirect(LOGIN_REDIRECT)
    form = await read_form(request)
    values = {"language": text(form, "language", 20), "time_zone": text(form, "time_zone", 100)}
    try:
        async with request.app.state.db.acquire() as connection:
            await profiles.do_set_preferences(
                connection, user, language=values["language"] or None, time_zone=values["time_zone"]
            )
    except AppError as error:
        return _failed(request, user, error, values)
    return redirect("/settings?saved=preferences#preferences")


async def export_data(request: Request) -> Response:
    user = auth.current_user(request)
    if user is None:
        return redirect(LOGIN_REDIRECT)
    async with request.app.state.db.acquire() as connection:
        data = await profiles.export_data(connection, user)
    return json_response(
        data,
        headers={
            "content-disposition": f'attachment; filename="kindred-data-{user.username}.json"',
            "cache-control": "no-store",
        },
    )


async def delete_account(request: Request) -> Response:
    user = auth.current_user(request)
    if user is None:
        return redirect(LOGIN_REDIRECT)
    form = await read_form(request)
    confirmation = text(form, "confirm_username", 100)
    try:
        async with request.app.state.db.acquire() as connection:
            await profiles.do_delete_account(connection, user, confirmation=confirmation)
    except AppError as error:
        return _failed(request, user, error, {"confirm_username": confirmation})
    for hook in getattr(request.app.state, "on_logout", []):
        await hook(user.id, None)
    response = redirect("/settings/deleted")
    auth.clear_session_cookie(response, secure=request.app.state.settings.secure_cookies)
    return response


async def deleted_page(request: Request) -> Response:
    return render(request, "settings/deleted.html")


routes = [
    Route("/settings", settings_page, methods=["GET"], name="settings"),
    Route("/settings/profile", save_profile, methods=["POST"]),
    Route("/settings/password", change_password, methods=["POST"]),
    Route("/settings/preferences", save_preferences, methods=["POST"]),
    Route("/settings/export.json", export_data, methods=["GET"]),
    Route("/settings/delete", delete_account, methods=["POST"]),
    Route("/settings/deleted", deleted_page, methods=["GET"]),
]

"""The notifications page: the list, opening one, marking read, and per-kind opt-outs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import auth
from server.actions import notifications
from server.actions.notifications import PREFERENCE_KINDS
from server.routes.forms import read_form, redirect
from server.templating import render


def _login_redirect(request: Request) -> Response:
    return redirect(f"/login?next={request.url.path}")


async def notifications_page(request: Request) -> Response:
    user = auth.current_user(request)
    if user is None:
        return _login_redirect(request)
    async with request.app.state.db.acquire() as connection:
        page = await notifications.page_for(connection, user, before=request.query_params.get("before"))
        preferences = await notifications.preferences_for(connection, user)
    context = {
        "page": page,
        "preferences": preferences,
        "kinds": PREFERENCE_KINDS,
        "saved": request.query_params.get("saved") == "1",
    }
    return render(request, "notifications.html", context)


async def open_notification(request: Request) -> Response:
    """Following a notification marks it read (a harmless write, so a plain link will do)."""
    user = auth.current_user(request)
    if user is None:
        return _login_redirect(request)
    async with request.app.state.db.acquire() as connection:
        url = await notifications.do_open(connection, user, request.path_params["notification_id"])
    return redirect(url)


async def mark_one_read(request: Request) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        await notifications.do_mark_read(
            connection, auth.current_user(request), [request.path_params["notification_id"]]
        )
    return redirect("/notifications")


async def mark_all_read(request: Request) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        await notifications.do_mark_read(connection, auth.current_user(request), None)
    return redirect("/notifications")


async def save_preferences(request: Request) -> Response:
    form = await read_form(request)
    in_app = {str(value) for value in form.getlist("in_app")}
    email = {str(value) for value in form.getlist("email")}
    async with request.app.state.db.acquire() as connection:
        await notifications.do_set_preferences(connection, auth.current_user(request), in_app=in_app, email=email)
    return redirect("/notifications?saved=1#preferences")


routes = [
    Route("/notifications", notifications_page, methods=["GET"]),
    Route("/notifications/read", mark_all_read, methods=["POST"]),
    Route("/notifications/preferences", save_preferences, methods=["POST"]),
    Route("/notifications/{notification_id:int}", open_notification, methods=["GET"]),
    Route("/notifications/{notification_id:int}/read", mark_one_read, methods=["POST"]),
]

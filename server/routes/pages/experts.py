"""The site admins' expert page (/admin/experts): who holds the badge and why, granting and revoking it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import auth
from server.actions import experts
from server.errors import AppError, returns_to_form
from server.i18n import _
from server.routes.forms import errors_for, read_form, redirect, text
from server.routes.pages.communities import login_redirect
from server.templating import render


def _notice(key: str | None) -> str | None:
    notices = {
        "granted": _("The expert badge was given; it shows on their answers and in live rooms."),
        "revoked": _("The expert badge was taken back."),
    }
    return notices.get(key or "")


async def _page(
    request: Request, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    async with request.app.state.db.acquire() as connection:
        page = await experts.experts_page(connection, auth.current_user(request))
    context = {
        "experts": page.experts,
        "history": page.history,
        "values": values or {},
        "errors": errors or {},
        "failed": (values or {}).get("revoke", ""),
        "notice": _notice(request.query_params.get("notice")) if status == 200 else None,
        "credential_max": experts.CREDENTIAL_MAX,
    }
    return render(request, "admin/experts.html", context, status=status)


async def experts_page(request: Request) -> Response:
    if auth.current_user(request) is None:
        return login_redirect(request)
    return await _page(request)


async def grant(request: Request) -> Response:
    form = await read_form(request)
    values = {"username": text(form, "username", 200), "credential": text(form, "credential", 1000)}
    try:
        async with request.app.state.db.acquire() as connection:
            await experts.do_grant(connection, auth.current_user(request), values["username"], values["credential"])
    except AppError as error:
        if not returns_to_form(error):
            raise
        return await _page(request, values=values, errors=errors_for(error), status=error.status)
    return redirect("/admin/experts?notice=granted")


async def revoke(request: Request) -> Response:
    form = await read_form(request)
    username = request.path_params["username"]
    values = {"revoke": username, "reason": text(form, "reason", 2000)}
    try:
        async with request.app.state.db.acquire() as connection:
            await experts.do_revoke(connection, auth.current_user(request), username, values["reason"])
    except AppError as error:
        if not returns_to_form(error):
            raise
        return await _page(request, values=values, errors=errors_for(error), status=error.status)
    return redirect("/admin/experts?notice=revoked")


routes = [
    Route("/admin/experts", experts_page, methods=["GET"]),
    Route("/admin/experts", grant, methods=["POST"]),
    Route("/admin/experts/{username}/revoke", revoke, methods=["POST"]),
]

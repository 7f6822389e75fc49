"""Resources (clinical trials, registries, e-books, podcasts) and member tips of a community: lists and forms."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import auth
from server.actions import communities, resources, tips
from server.actions.communities import Community
from server.errors import AppError, returns_to_form
from server.routes.forms import errors_for, read_form, redirect, text
from server.routes.pages.communities import login_redirect, notice_text, path_id, slug_of, template_helpers
from server.templating import render

# --- Resources ------------------------------------------------------------------------------------


async def resources_page(request: Request) -> Response:
    kind = request.query_params.get("kind") or None
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
        listed = await resources.list_for(connection, community, kind)
        try:
            await resources.check_can_manage(connection, user, community)
            can_manage = True
        except AppError:
            can_manage = False
    context = {
        "community": community,
        "resources": listed,
        "kind": kind if kind in resources.KINDS else None,
        "can_manage": can_manage,
        "notice": notice_text(request.query_params.get("notice")),
        **template_helpers(),
    }
    return render(request, "communities/resources.html", context)


_RESOURCE_FIELDS = ("kind", "title", "description", "url", "published_on")


def _resource_form(
    request: Request,
    community: Community,
    values: dict[str, str],
    *,
    resource_id: int | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "community": community,
        "values": values,
        "resource_id": resource_id,
        "errors": errors or {},
        **template_helpers(),
    }
    return render(request, "communities/resource_form.html", context, status=status)


async def resource_new_page(request: Request) -> Response:
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
        if user is None:
            return login_redirect(request)
        await resources.check_can_manage(connection, user, community)
    return _resource_form(request, community, {"kind": "other"})


async def resource_add(request: Request) -> Response:
    form = await read_form(request)
    values = {name: text(form, name, 5000) for name in _RESOURCE_FIELDS}
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
        # Refusals come before any judgement of the input.
        await resources.check_can_manage(connection, user, community)
        try:
            data = resources.check_resource(**values)
            await resources.do_add(connection, user, community, data)
        except AppError as error:
            if not returns_to_form(error):
                raise
            return _resource_form(request, community, values, errors=errors_for(error), status=error.status)
    return redirect(f"/c/{community.slug}/resources?notice=resource_added")


async def resource_edit_page(request: Request) -> Response:
    user = auth.current_user(request)
    resource_id = path_id(request, "resource_id")
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
        if user is None:
            return login_redirect(request)
        await resources.check_can_manage(connection, user, community)
        resource = await resources.get(connection, community, resource_id)
    values = {
        "kind": resource.kind,
        "title": resource.title,
        "description": resource.description,
        "url": resource.url,
        "published_on": resource.published_on.isoformat() if resource.published_on else "",
    }
    return _resource_form(request, community, values, resource_id=resource.id)


async def resource_edit(request: Request) -> Response:
    form = await read_form(request)
    values = {name: text(form, name, 5000) for name in _RESOURCE_FIELDS}
    resource_id = path_id(request, "resource_id")
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
        await resources.check_can_manage(connection, user, community)
        try:
            data = resources.check_resource(**values)
            await resources.do_edit(connection, user, community, resource_id, data)
        except AppError as error:
            if not returns_to_form(error):
                raise
            return _resource_form(
                request, community, values, resource_id=resource_id, errors=errors_for(error), status=error.status
            )
    return redirect(f"/c/{community.slug}/resources?notice=resource_saved")


async def resource_remove(request: Request) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
        await resources.do_remove(connection, auth.current_user(request), community, path_id(request, "resource_id"))
    return redirect(f"/c/{community.slug}/resources?notice=resource_removed")


# --- Tips -----------------------------------------------------------------------------------------


def _tips_page(
    request: Request,
    community: Community,
    shown: tips.TipsPage,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "community": community,
        "tips": shown.tips,
        "tips_readable": shown.readable,
        "can_add": shown.refusal is None,
        "refusal": shown.refusal,
        "can_moderate": shown.can_moderate,
        "values": values or {},
        "errors": errors or {},
        "notice": notice_text(request.query_params.get("notice")),
        "max_name": tips.MAX_NAME,
        "max_description": tips.MAX_DESCRIPTION,
    }
    return render(request, "communities/tips.html", context, status=status)


async def tips_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
        shown = await tips.page(connection, auth.current_user(request), community)
    return _tips_page(request, community, shown)


async def tip_add(request: Request) -> Response:
    form = await read_form(request)
    values = {"name": text(form, "name", 1000), "description": text(form, "description", 10_000)}
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
        try:
            await tips.do_add(connection, auth.current_user(request), community, values["name"], values["description"])
        except AppError as error:
            if not returns_to_form(error):
                raise
            shown = await tips.page(connection, auth.current_user(request), community)
            return _tips_page(request, community, shown, values=values, errors=errors_for(error), status=error.status)
    return redirect(f"/c/{community.slug}/tips?notice=tip_added")


async def _set_tip_hidden(request: Request, hidden: bool) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
        await tips.do_set_hidden(
            connection, auth.current_user(request), community, path_id(request, "tip_id"), hidden=hidden
        )
    return redirect(f"/c/{community.slug}/tips?notice={'tip_hidden' if hidden else 'tip_shown'}")


async def tip_hide(request: Request) -> Response:
    return await _set_tip_hidden(request, True)


async def tip_unhide(request: Request) -> Response:
    return await _set_tip_hidden(request, False)


routes = [
    Route("/c/{slug}/resources", resources_page, methods=["GET"]),
    Route("/c/{slug}/resources/new", resource_new_page, methods=["GET"]),
    Route("/c/{slug}/resources/new", resource_add, methods=["POST"]),
    Route("/c/{slug}/resources/{resource_id:int}/edit", resource_edit_page, methods=["GET"]),
    Route("/c/{slug}/resources/{resource_id:int}/edit", resource_edit, methods=["POST"]),
    Route("/c/{slug}/resources/{resource_id:int}/remove", resource_remove, methods=["POST"]),
    Route("/c/{slug}/tips", tips_page, methods=["GET"]),
    Route("/c/{slug}/tips", tip_add, methods=["POST"]),
    Route("/c/{slug}/tips/{tip_id:int}/hide", tip_hide, methods=["POST"]),
    Route("/c/{slug}/tips/{tip_id:int}/unhide", tip_unhide, methods=["POST"]),
]

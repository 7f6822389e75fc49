"""Community pages and forms: the directory, the condition page, sections, resources, tips, leaders, the FAQ."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import auth
from server.actions import communities, resources, sections, tips
from server.actions import proposals as proposal_actions
from server.db.queries import rooms
from server.db.queries.communities import Community
from server.errors import AppError, returns_to_form
from server.i18n import _
from server.routes.forms import errors_for, read_form, redirect, text
from server.templating import render


def notice_text(key: str | None) -> str | None:
    """Short confirmations shown after a redirect (?notice=...); unknown keys show nothing."""
    notices = {
        "left": _("You have left this community."),
        "saved": _("The section was saved."),
        "resource_added": _("The resource was added."),
        "resource_saved": _("The resource was saved."),
        "resource_removed": _("The resource was removed."),
        "tip_added": _("Thank you for sharing your tip."),
        "tip_hidden": _("The tip is now hidden from members."),
        "tip_shown": _("The tip is visible again."),
        "leader_appointed": _("The new leader was appointed."),
        "leader_removed": _("The leader is now a member."),
        "leadership": _("You are now a leader of this community."),
    }
    return notices.get(key or "")


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"/login?next={quote(target, safe='')}")


def path_id(request: Request, name: str) -> int:
    value: int = request.path_params[name]
    return value


def template_helpers() -> dict[str, Any]:
    return {
        "section_keys": sections.SECTION_KEYS,
        "section_title": sections.section_title,
        "empty_text": sections.empty_text,
        "kind_label": resources.kind_label,
        "resource_kinds": resources.KINDS,
    }


async def _load(connection: asyncpg.Connection, request: Request) -> Community:
    return await communities.load(connection, request.path_params["slug"], auth.current_user(request))


# --- Directory, FAQ -------------------------------------------------------------------------------


async def home(request: Request) -> Response:
    query = request.query_params.get("q", "")
    page = communities.check_page(request.query_params.get("page"))
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        found = await communities.directory(connection, query, page)
        # Unread live-room messages, for the communities a signed-in member belongs to, in one query.
        room_unread = await rooms.unread_counts(connection, user.id, [c.id for c in found.communities]) if user else {}
    return render(request, "home.html", {"directory": found, "room_unread": room_unread})


async def faq(request: Request) -> Response:
    return render(request, "faq.html")


# --- The community page, membership, leaders ------------------------------------------------------


async def _show(
    request: Request,
    connection: asyncpg.Connection,
    community: Community,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    user = auth.current_user(request)
    view = await communities.overview(connection, community, user)
    room_unread = (await rooms.unread_counts(connection, user.id, [community.id])).get(community.id, 0) if user else 0
    notice_key = request.query_params.get("notice")
    context = {
        "view": view,
        "community": community,
        "room_unread": room_unread,
        "notice": notice_text(notice_key),
        "joined": notice_key == "joined" and view.actor.is_member,
        "errors": errors or {},
        "values": values or {},
        **template_helpers(),
    }
    return render(request, "communities/show.html", context, status=status)


async def community_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await _load(connection, request)
        return await _show(request, connection, community)


async def join(request: Request) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community = await _load(connection, request)
        await communities.do_join(connection, auth.current_user(request), community)
    return redirect(f"/c/{community.slug}?notice=joined")


async def leave(request: Request) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community = await _load(connection, request)
        await communities.do_leave(connection, auth.current_user(request), community)
    return redirect(f"/c/{community.slug}?notice=left")


async def appoint_leader(request: Request) -> Response:
    form = await read_form(request)
    username = text(form, "username", 100)
    async with request.app.state.db.acquire() as connection:
        community = await _load(connection, request)
        try:
            await communities.do_appoint_leader(connection, auth.current_user(request), community, username)
        except AppError as error:
            if not returns_to_form(error):
                raise
            return await _show(
                request,
                connection,
                community,
                errors=errors_for(error),
                values={"username": username},
                status=error.status,
            )
    return redirect(f"/c/{community.slug}?notice=leader_appointed#leaders")


async def remove_leader(request: Request) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community = await _load(connection, request)
        await communities.do_remove_leader(
            connection, auth.current_user(request), community, request.path_params["username"]
        )
    return redirect(f"/c/{community.slug}?notice=leader_removed#leaders")


async def accept_leadership(request: Request) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community = await _load(connection, request)
        await proposal_actions.do_accept_leadership(connection, auth.current_user(request), community)
    return redirect(f"/c/{community.slug}?notice=leadership")


# --- Condition sections ---------------------------------------------------------------------------


async def _section_form(
    request: Request,
    community: Community,
    key: str,
    body: str,
    summary: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "community": community,
        "key": key,
        "title": sections.section_title(key),
        "values": {"body": body, "summary": summary},
        "errors": errors or {},
        "max_body": sections.MAX_BODY,
        "max_summary": sections.MAX_SUMMARY,
    }
    return render(request, "communities/section_edit.html", context, status=status)


async def section_edit_page(request: Request) -> Response:
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        community = await _load(connection, request)
        key = sections.check_section(request.path_params["section"])
        if user is None:
            return login_redirect(request)
        await sections.check_can_edit(connection, user, community)
        current = await sections.get_section(connection, community, key)
    return await _section_form(request, community, key, current.body_md if current else "")


async def section_edit(request: Request) -> Response:
    form = await read_form(request)
    body = text(form, "body", sections.MAX_BODY + 1000)
    summary = text(form, "summary", 1000)
    async with request.app.state.db.acquire() as connection:
        community = await _load(connection, request)
        key = sections.check_section(request.path_params["section"])
        try:
            await sections.do_edit_section(connection, auth.current_user(request), community, key, body, summary)
        except AppError as error:
            if not returns_to_form(error):
                raise
            return await _section_form(request, community, key, body, summary, errors_for(error), error.status)
    return redirect(f"/c/{community.slug}?notice=saved#section-{key}")


async def section_history(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await _load(connection, request)
        key = sections.check_section(request.path_params["section"])
        revisions = await sections.history(connection, community, key)
    context = {
        "community": community,
        "key": key,
        "title": sections.section_title(key),
        "revisions": revisions,
    }
    return render(request, "communities/section_history.html", context)


# --- Resources ------------------------------------------------------------------------------------


async def resources_page(request: Request) -> Response:
    kind = request.query_params.get("kind") or None
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        community = await _load(connection, request)
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
        community = await _load(connection, request)
        if user is None:
            return login_redirect(request)
        await resources.check_can_manage(connection, user, community)
    return _resource_form(request, community, {"kind": "other"})


async def resource_add(request: Request) -> Response:
    form = await read_form(request)
    values = {name: text(form, name, 5000) for name in _RESOURCE_FIELDS}
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        community = await _load(connection, request)
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
        community = await _load(connection, request)
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
        community = await _load(connection, request)
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
        community = await _load(connection, request)
        await resources.do_remove(connection, auth.current_user(request), community, path_id(request, "resource_id"))
    return redirect(f"/c/{community.slug}/resources?notice=resource_removed")


# --- Tips -----------------------------------------------------------------------------------------


async def _tips_page(
    request: Request,
    connection: asyncpg.Connection,
    community: Community,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    user = auth.current_user(request)
    listed = await tips.list_for(connection, user, community)
    refusal: str | None = None
    try:
        await tips.check_can_add(connection, user, community)
    except AppError as error:
        refusal = error.message
    context = {
        "community": community,
        "tips": listed,
        "can_add": refusal is None,
        "refusal": refusal,
        "can_moderate": await tips.can_moderate(connection, user, community),
        "values": values or {},
        "errors": errors or {},
        "notice": notice_text(request.query_params.get("notice")),
        "max_name": tips.MAX_NAME,
        "max_description": tips.MAX_DESCRIPTION,
    }
    return render(request, "communities/tips.html", context, status=status)


async def tips_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await _load(connection, request)
        return await _tips_page(request, connection, community)


async def tip_add(request: Request) -> Response:
    form = await read_form(request)
    values = {"name": text(form, "name", 1000), "description": text(form, "description", 10_000)}
    async with request.app.state.db.acquire() as connection:
        community = await _load(connection, request)
        try:
            await tips.do_add(connection, auth.current_user(request), community, values["name"], values["description"])
        except AppError as error:
            if not returns_to_form(error):
                raise
            return await _tips_page(
                request, connection, community, values=values, errors=errors_for(error), status=error.status
            )
    return redirect(f"/c/{community.slug}/tips?notice=tip_added")


async def _set_tip_hidden(request: Request, hidden: bool) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community = await _load(connection, request)
        await tips.do_set_hidden(
            connection, auth.current_user(request), community, path_id(request, "tip_id"), hidden=hidden
        )
    return redirect(f"/c/{community.slug}/tips?notice={'tip_hidden' if hidden else 'tip_shown'}")


async def tip_hide(request: Request) -> Response:
    return await _set_tip_hidden(request, True)


async def tip_unhide(request: Request) -> Response:
    return await _set_tip_hidden(request, False)


routes = [
    Route("/", home, methods=["GET"], name="home"),
    Route("/faq", faq, methods=["GET"]),
    Route("/c/{slug}", community_page, methods=["GET"]),
    Route("/c/{slug}/join", join, methods=["POST"]),
    Route("/c/{slug}/leave", leave, methods=["POST"]),
    Route("/c/{slug}/leaders", appoint_leader, methods=["POST"]),
    Route("/c/{slug}/leaders/{username}/remove", remove_leader, methods=["POST"]),
    Route("/c/{slug}/leadership", accept_leadership, methods=["POST"]),
    Route("/c/{slug}/sections/{section}/edit", section_edit_page, methods=["GET"]),
    Route("/c/{slug}/sections/{section}/edit", section_edit, methods=["POST"]),
    Route("/c/{slug}/sections/{section}/history", section_history, methods=["GET"]),
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

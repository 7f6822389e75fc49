"""Community pages and forms: the directory, the condition page, sections, resources, tips, leaders, the FAQ."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import auth
from server.actions import catalogue, communities, pseudonyms, resources, sections
from server.actions import proposals as proposal_actions
from server.actions import rooms as room_actions
from server.actions.communities import Community
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
        "pseudonym": _("Saved: this is how others in this community see you now."),
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
        "catalogue_url": catalogue.source_url,
        "frequency_label": catalogue.frequency_label,
        "catalogue_acknowledgement": catalogue.acknowledgement,
    }


def slug_of(request: Request) -> str:
    slug: str = request.path_params["slug"]
    return slug


# --- Directory, FAQ -------------------------------------------------------------------------------


async def home(request: Request) -> Response:
    query = request.query_params.get("q", "")
    page = communities.check_page(request.query_params.get("page"))
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        found = await communities.directory(connection, query, page)
        # Unread live-room messages, for the communities a signed-in member belongs to, in one query.
        room_unread = await room_actions.unread_counts(connection, user, [c.id for c in found.communities])
    return render(request, "home.html", {"directory": found, "room_unread": room_unread})


async def faq(request: Request) -> Response:
    return render(request, "faq.html")


# --- The community page, membership, leaders ------------------------------------------------------


def _show(
    request: Request,
    view: communities.Overview,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    notice_key = request.query_params.get("notice")
    context = {
        "view": view,
        "community": view.community,
        "room_unread": view.room_unread,
        "room_list": view.rooms,
        "me": view.me,
        "review_waiting": view.review_waiting,
        "notice": notice_text(notice_key),
        "joined": notice_key == "joined" and view.actor.is_member,
        "errors": errors or {},
        "values": values or {},
        **template_helpers(),
    }
    return render(request, "communities/show.html", context, status=status)


async def community_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
        view = await communities.overview(connection, community, auth.current_user(request))
    return _show(request, view)


async def set_pseudonym(request: Request) -> Response:
    form = await read_form(request)
    name = text(form, "pseudonym", 200)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
        try:
            await pseudonyms.set_pseudonym(connection, auth.current_user(request), community, name)
        except AppError as error:
            if not returns_to_form(error):
                raise
            view = await communities.overview(connection, community, auth.current_user(request))
            return _show(request, view, errors=errors_for(error), values={"pseudonym": name}, status=error.status)
    return redirect(f"/c/{community.slug}?notice=pseudonym#your-name")


async def join(request: Request) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
        await communities.do_join(connection, auth.current_user(request), community)
    return redirect(f"/c/{community.slug}?notice=joined")


async def leave(request: Request) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
        await communities.do_leave(connection, auth.current_user(request), community)
    if community.visibility == "hidden":
        # Outside a hidden community its page is not found any more.
        return redirect("/")
    return redirect(f"/c/{community.slug}?notice=left")


async def appoint_leader(request: Request) -> Response:
    form = await read_form(request)
    username = text(form, "username", 100)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
        try:
            await communities.do_appoint_leader(connection, auth.current_user(request), community, username)
        except AppError as error:
            if not returns_to_form(error):
                raise
            view = await communities.overview(connection, community, auth.current_user(request))
            return _show(
                request,
                view,
                errors=errors_for(error),
                values={"username": username},
                status=error.status,
            )
    return redirect(f"/c/{community.slug}?notice=leader_appointed#leaders")


async def remove_leader(request: Request) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
        await communities.do_remove_leader(
            connection, auth.current_user(request), community, request.path_params["username"]
        )
    return redirect(f"/c/{community.slug}?notice=leader_removed#leaders")


async def accept_leadership(request: Request) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
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
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
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
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
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
        community = await communities.load(connection, slug_of(request), auth.current_user(request))
        key = sections.check_section(request.path_params["section"])
        revisions = await sections.history(connection, community, key)
    context = {
        "community": community,
        "key": key,
        "title": sections.section_title(key),
        "revisions": revisions,
    }
    return render(request, "communities/section_history.html", context)


routes = [
    Route("/", home, methods=["GET"], name="home"),
    Route("/faq", faq, methods=["GET"]),
    Route("/c/{slug}", community_page, methods=["GET"]),
    Route("/c/{slug}/join", join, methods=["POST"]),
    Route("/c/{slug}/pseudonym", set_pseudonym, methods=["POST"]),
    Route("/c/{slug}/leave", leave, methods=["POST"]),
    Route("/c/{slug}/leaders", appoint_leader, methods=["POST"]),
    Route("/c/{slug}/leaders/{username}/remove", remove_leader, methods=["POST"]),
    Route("/c/{slug}/leadership", accept_leadership, methods=["POST"]),
    Route("/c/{slug}/sections/{section}/edit", section_edit_page, methods=["GET"]),
    Route("/c/{slug}/sections/{section}/edit", section_edit, methods=["POST"]),
    Route("/c/{slug}/sections/{section}/history", section_history, methods=["GET"]),
]

"""Flag pages: members flag a post or a chat message (and see crisis resources); site admins' flag queue."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.actions import communities, flags
from server.actions.access import require_can_write
from server.actions.communities import Community
from server.actions.flags import Flagged, Item
from server.errors import AppError, returns_to_form
from server.i18n import _
from server.routes.forms import read_form, text
from server.settings import Settings
from server.templating import render


def crisis_text(settings: Settings) -> str:
    """The site's own crisis text as configured, or the default one in the reader's language."""
    if settings.crisis_text == Settings.crisis_text:
        return _(
            "If someone is in immediate danger, call your local emergency number now "
            "(112 in Europe, 911 in North America, 999 in the UK)."
        )
    return settings.crisis_text


def _back(community: Community, item: Item) -> str:
    if item.post is not None:
        return f"/c/{community.slug}/posts/{item.post.id}"
    assert item.room is not None
    return f"/c/{community.slug}/live/{item.room.slug}"


def _action(community: Community, item: Item) -> str:
    if item.post is not None:
        return f"/c/{community.slug}/posts/{item.post.id}/flag"
    assert item.room is not None and item.message is not None
    return f"/c/{community.slug}/live/{item.room.slug}/messages/{item.message.seq}/flag"


def _form_context(community: Community, item: Item, values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "community": community,
        "item": item,
        "excerpt": item.post.body_md if item.post else item.message.body if item.message else "",
        "action": _action(community, item),
        "back": _back(community, item),
        "reasons": flags.reason_labels(),
        "values": values,
        "errors": errors,
    }


async def flag_form(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        require_can_write(actor)  # refused (401/403) before anything about the item is looked at
        item = await flags.find_item(connection, actor, **request.path_params)
        await flags.check_flaggable(connection, actor, item)
    return render(request, "moderation/flag.html", _form_context(community, item, {}, {}))


async def flag(request: Request) -> Response:
    form = await read_form(request)
    values = {"reason": text(form, "reason", 40), "note": text(form, "note", 2000)}
    async with request.app.state.db.acquire() as connection:
        community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        require_can_write(actor)
        item = await flags.find_item(connection, actor, **request.path_params)
        try:
            if item.post is not None:
                done: Flagged = await flags.do_flag_post(
                    connection, actor, item.post.id, reason=values["reason"], note=values["note"]
                )
            else:
                done = await flags.do_flag_message(
                    connection,
                    actor,
                    request.path_params["room"],
                    request.path_params["seq"],
                    reason=values["reason"],
                    note=values["note"],
                )
        except AppError as error:
            if not returns_to_form(error):
                raise
            context = _form_context(community, item, values, {error.field or "form": error.message})
            return render(request, "moderation/flag.html", context, status=error.status)
    # The crisis text is shown right here, on the page the member lands on, whatever else happened.
    return render(
        request,
        "moderation/flag_sent.html",
        {
            "community": community,
            "done": done,
            "back": _back(community, item),
            "crisis_text": crisis_text(request.app.state.settings),
        },
        status=200 if done.created else 409,
    )


async def admin_flags(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        items = await flags.admin_queue(
            connection, request.state.user, escalate_minutes=request.app.state.settings.flag_escalate_minutes
        )
    return render(
        request,
        "admin/flags.html",
        {
            "items": items,
            "reasons": flags.reason_labels(),
        },
    )


routes = [
    Route("/c/{slug}/posts/{post_id:int}/flag", flag_form, methods=["GET"]),
    Route("/c/{slug}/posts/{post_id:int}/flag", flag, methods=["POST"]),
    Route("/c/{slug}/live/{room}/messages/{seq:int}/flag", flag_form, methods=["GET"]),
    Route("/c/{slug}/live/{room}/messages/{seq:int}/flag", flag, methods=["POST"]),
    Route("/admin/flags", admin_flags, methods=["GET"]),
]

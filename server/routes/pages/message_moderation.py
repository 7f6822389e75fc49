"""Moderation from a message's own menu: a chat message's moderation page (remove, hold, mute), and holding
or muting from a forum post's tools (the post's hide page holds the mute form)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.actions import communities, message_moderation, moderation, thread_moderation
from server.actions.access import require_moderator
from server.errors import AppError, returns_to_form
from server.routes.forms import read_form, redirect, text
from server.templating import render

DURATIONS = [*moderation.MUTE_CHOICES, "until_lifted"]


def _room_url(slug: str, room: str) -> str:
    return f"/c/{slug}/live/{room}"


async def message_page(
    request: Request, errors: dict[str, str] | None = None, values: dict[str, str] | None = None, status: int = 200
) -> Response:
    """The moderation page of one chat message (the message menu's "Moderate" leads here)."""
    params = request.path_params
    async with request.app.state.db.acquire() as connection:
        community, actor = await communities.with_actor(connection, request.state.user, params["slug"])
        found = await message_moderation.message_to_moderate(
            connection, actor, community.slug, params["room"], params["seq"]
        )
    return render(
        request,
        "moderation/message.html",
        {
            "community": community,
            "room": found.room,
            "message": found.message,
            "durations": DURATIONS,
            "errors": errors or {},
            "values": values or {},
        },
        status=status,
    )


async def _message_act(request: Request, verb: str) -> Response:
    form = await read_form(request)
    params = request.path_params
    values = {name: text(form, name, 2000) for name in ("reason", "mute_reason", "scope", "duration")}
    try:
        async with request.app.state.db.acquire() as connection:
            community, actor = await communities.with_actor(connection, request.state.user, params["slug"])
            if verb == "remove":
                await message_moderation.do_remove_message(
                    connection, actor, community.slug, params["room"], params["seq"], reason=values["reason"]
                )
            elif verb == "hold":
                await message_moderation.do_hold_message(
                    connection, actor, community.slug, params["room"], params["seq"]
                )
            else:
                await message_moderation.do_mute_message_author(
                    connection,
                    actor,
                    community.slug,
                    params["room"],
                    params["seq"],
                    scope=values["scope"],
                    duration=values["duration"],
                    reason=values["mute_reason"],
                )
    except AppError as error:
        if not returns_to_form(error):
            raise
        return await message_page(request, {verb: error.message}, values, status=error.status)
    return redirect(_room_url(community.slug, params["room"]))


async def remove_message(request: Request) -> Response:
    return await _message_act(request, "remove")


async def hold_message(request: Request) -> Response:
    return await _message_act(request, "hold")


async def mute_message_author(request: Request) -> Response:
    return await _message_act(request, "mute")


async def _post_page(request: Request, values: dict[str, str], error: str, status: int) -> Response:
    """The post's hide page again, with the mute form's message and draft."""
    async with request.app.state.db.acquire() as connection:
        community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        require_moderator(actor)
        place = await thread_moderation.post_in(connection, actor, request.path_params["post_id"])
    return render(
        request,
        "moderation/hide_post.html",
        {
            "community": community,
            "post": place,
            "reason": "",
            "error": None,
            "durations": DURATIONS,
            "mute": values,
            "mute_error": error,
        },
        status=status,
    )


async def hold_post(request: Request) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        place = await message_moderation.do_hold_post(connection, actor, request.path_params["post_id"])
    return redirect(f"/c/{community.slug}/t/{place.thread_id}")


async def mute_post_author(request: Request) -> Response:
    form = await read_form(request)
    values = {name: text(form, name, 2000) for name in ("mute_reason", "duration")}
    try:
        async with request.app.state.db.acquire() as connection:
            community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
            place, _ends = await message_moderation.do_mute_post_author(
                connection,
                actor,
                request.path_params["post_id"],
                duration=values["duration"],
                reason=values["mute_reason"],
            )
    except AppError as error:
        if not returns_to_form(error):
            raise
        return await _post_page(request, values, error.message, error.status)
    return redirect(f"/c/{community.slug}/posts/{place.id}")


_MESSAGE = "/c/{slug}/live/{room}/messages/{seq:int}"

routes = [
    Route(_MESSAGE + "/moderate", message_page, methods=["GET"]),
    Route(_MESSAGE + "/remove", remove_message, methods=["POST"]),
    Route(_MESSAGE + "/hold", hold_message, methods=["POST"]),
    Route(_MESSAGE + "/mute", mute_message_author, methods=["POST"]),
    Route("/c/{slug}/posts/{post_id:int}/hold", hold_post, methods=["POST"]),
    Route("/c/{slug}/posts/{post_id:int}/mute", mute_post_author, methods=["POST"]),
]

"""Live room pages: /c/<slug>/live[/<room>] render recent history, then the page goes live over /ws."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.actions import access
from server.actions import rooms as room_actions
from server.actions.access import actor_for
from server.db.queries import communities, messages, rooms
from server.errors import not_found
from server.live import room_topic
from server.routes.forms import read_form, redirect, text
from server.templating import render

HISTORY_ON_PAGE = 50


async def room_page(request: Request) -> Response:
    slug = request.path_params["slug"]
    room_slug = request.path_params.get("room")
    user = request.state.user
    async with request.app.state.db.acquire() as connection:
        community = await communities.by_slug(connection, slug)
        if community is None:
            raise not_found()
        actor = await actor_for(connection, user, community.id)
        access.require_can_read_room(actor, community)
        room = await rooms.in_community(connection, community.id, room_slug)
        if room is None:
            raise not_found()
        all_rooms = await rooms.list_for_community(connection, community.id)
        history = await messages.recent(
            connection,
            room.id,
            viewer_id=user.id if user else None,
            include_removed=actor.can_moderate,
            limit=HISTORY_ON_PAGE,
        )
        hidden = await rooms.hides_presence(connection, room.id, user.id) if user else False
    return render(
        request,
        "live/room.html",
        {
            "community": community,
            "room": room,
            "rooms": all_rooms,
            "history": history,
            "topic": room_topic(community.slug, room.slug),
            "actor": actor,
            "can_send": access.can_write(actor, community),
            "presence_hidden": hidden,
            "last_seq": history[-1].seq if history else room.last_seq,
        },
    )


async def add_room(request: Request) -> Response:
    form = await read_form(request)
    slug = request.path_params["slug"]
    async with request.app.state.db.acquire() as connection:
        community = await communities.by_slug(connection, slug)
        if community is None:
            raise not_found()
        actor = await actor_for(connection, request.state.user, community.id)
        room = await room_actions.do_add_room(connection, actor, community, text(form, "name", 200))
    return redirect(f"/c/{community.slug}/live/{room.slug}")


async def set_presence(request: Request) -> Response:
    form = await read_form(request)
    slug = request.path_params["slug"]
    async with request.app.state.db.acquire() as connection:
        community = await communities.by_slug(connection, slug)
        room = await rooms.in_community(connection, community.id, request.path_params["room"]) if community else None
        if community is None or room is None:
            raise not_found()
        actor = await actor_for(connection, request.state.user, community.id)
        await room_actions.do_set_presence_hidden(connection, actor, room, text(form, "hidden") == "1")
    return redirect(f"/c/{community.slug}/live/{room.slug}")


routes = [
    Route("/c/{slug}/live", room_page, methods=["GET"]),
    Route("/c/{slug}/live/{room}", room_page, methods=["GET"]),
    Route("/c/{slug}/rooms", add_room, methods=["POST"]),
    Route("/c/{slug}/live/{room}/presence", set_presence, methods=["POST"]),
]

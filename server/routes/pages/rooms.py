"""Live room pages: /c/<slug>/live[/<room>] render recent history, then the page goes live over /ws."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channels import protocol
from server.actions import chat, communities
from server.actions import rooms as room_actions
from server.live import badge_for, reactions_json, room_topic
from server.routes.forms import read_form, redirect, text
from server.templating import render


async def room_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        page = await room_actions.open_room_page(
            connection, request.state.user, request.path_params["slug"], request.path_params.get("room")
        )
    return render(
        request,
        "live/room.html",
        {
            "community": page.community,
            "room": page.room,
            "room_list": page.rooms,
            "history": page.history,
            "topic": room_topic(page.community.slug, page.room.slug),
            "actor": page.actor,
            "can_send": page.can_send,
            "presence_hidden": page.presence_hidden,
            "me": page.me,
            "last_seq": page.history[-1].seq if page.history else page.room.last_seq,
            "last_read_seq": page.last_read_seq,
            "muted_notice": page.muted_notice,
            "composer": page.composer,
            # For the page's timer: when the mute in force ends ("" for one a leader must lift), and where it holds.
            "muted_until": page.muted_until,
            "muted_scope": page.muted_scope,
            "review_note": page.review_note,
            "review_waiting": page.review_waiting,
            # Slow mode as this member meets it: seconds between messages, and the wait left now.
            "slow_mode": 0 if page.actor.can_moderate else page.room.slow_mode_seconds,
            "slow_wait": await chat.slow_mode_wait(request.app.state.limiter, page.room, page.actor)
            if page.can_send
            else 0,
            "reactions": {m.seq: reactions_json(m) for m in page.history},
            # The server's own limits, so the page's script and the dialog never copy them.
            "replay_limit": chat.REPLAY_LIMIT,
            "remove_reason_max": protocol.MAX_REASON_CHARS,
            # Whose live messages the menu offers to remove: authors this leader outranks, by their badge.
            "removable_badges": page.removable_badges,
            "badges": {
                m.seq: badge_for(m.author_is_leader, m.author_is_expert, m.author_is_admin) for m in page.history
            },
        },
    )


async def room_list_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        found = await room_actions.room_list(connection, request.state.user, request.path_params["slug"])
    return render(
        request,
        "live/rooms.html",
        {"community": found.community, "actor": found.actor, "room_list": found.rooms, "me": found.me},
    )


async def add_room(request: Request) -> Response:
    form = await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        room = await room_actions.do_add_room(connection, actor, community, text(form, "name", 200))
    return redirect(f"/c/{community.slug}/live/{room.slug}")


async def set_presence(request: Request) -> Response:
    form = await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community, room, actor = await room_actions.room_in(
            connection, request.state.user, request.path_params["slug"], request.path_params["room"]
        )
        await room_actions.do_set_presence_hidden(connection, actor, room, text(form, "hidden") == "1")
    return redirect(f"/c/{community.slug}/live/{room.slug}")


routes = [
    Route("/c/{slug}/live", room_page, methods=["GET"]),
    Route("/c/{slug}/live/{room}", room_page, methods=["GET"]),
    Route("/c/{slug}/rooms", room_list_page, methods=["GET"]),
    Route("/c/{slug}/rooms", add_room, methods=["POST"]),
    Route("/c/{slug}/live/{room}/presence", set_presence, methods=["POST"]),
]

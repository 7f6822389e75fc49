"""Leaders' pages: members with mute and ban, the audit log (and its CSV), room slow mode."""

from __future__ import annotations

import csv
import io

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.actions import moderation
from server.actions.access import Actor, actor_for, require_moderator
from server.db.queries import audit, communities, memberships, rooms, sanctions
from server.db.queries.communities import Community
from server.errors import AppError, not_found, returns_to_form
from server.routes.forms import read_form, redirect, text
from server.templating import render

AUDIT_PAGE = 100


async def _community_and_actor(connection: asyncpg.Connection, request: Request) -> tuple[Community, Actor]:
    community = await communities.by_slug(connection, request.path_params["slug"])
    if community is None:
        raise not_found()
    return community, await actor_for(connection, request.state.user, community.id)


async def members_page(request: Request, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    async with request.app.state.db.acquire() as connection:
        community, actor = await _community_and_actor(connection, request)
        require_moderator(actor)
        member_list = await memberships.members(connection, community.id)
        active = await sanctions.active_for_community(connection, community.id)
    return render(
        request,
        "moderation/members.html",
        {
            "community": community,
            "members": member_list,
            "sanctions": active,
            "durations": [*moderation.MUTE_CHOICES, "until_lifted"],
            "errors": errors or {},
        },
        status=status,
    )


async def _act(request: Request, verb: str) -> Response:
    form = await read_form(request)
    username = request.path_params["username"]
    try:
        async with request.app.state.db.acquire() as connection:
            community, actor = await _community_and_actor(connection, request)
            if verb == "mute":
                await moderation.do_mute(
                    connection, actor, username, duration=text(form, "duration", 20), reason=text(form, "reason", 2000)
                )
            elif verb == "unmute":
                await moderation.do_unmute(connection, actor, username)
            elif verb == "ban":
                await moderation.do_ban(connection, actor, username, reason=text(form, "reason", 2000))
            elif verb == "unban":
                await moderation.do_unban(connection, actor, username)
    except AppError as error:
        if not returns_to_form(error):
            raise
        return await members_page(request, {username: error.message}, status=400)
    return redirect(f"/c/{community.slug}/members")


async def mute(request: Request) -> Response:
    return await _act(request, "mute")


async def unmute(request: Request) -> Response:
    return await _act(request, "unmute")


async def ban(request: Request) -> Response:
    return await _act(request, "ban")


async def unban(request: Request) -> Response:
    return await _act(request, "unban")


async def audit_page(request: Request) -> Response:
    before = request.query_params.get("before")
    async with request.app.state.db.acquire() as connection:
        community, actor = await _community_and_actor(connection, request)
        require_moderator(actor)
        entries = await audit.for_community(
            connection, community.id, before_id=int(before) if before and before.isdigit() else None, limit=AUDIT_PAGE
        )
    return render(
        request, "moderation/audit.html", {"community": community, "entries": entries, "page_size": AUDIT_PAGE}
    )


async def audit_csv(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community, actor = await _community_and_actor(connection, request)
        require_moderator(actor)
        entries = await audit.for_community(connection, community.id, before_id=None, limit=100_000)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["id", "when_utc", "who", "action", "target_member", "target_kind", "target_id", "reason", "details"]
    )
    for entry in entries:
        writer.writerow(
            [
                entry.id,
                entry.created_at.isoformat(),
                entry.actor_username,
                entry.action,
                entry.target_username,
                entry.target_kind,
                entry.target_id or "",
                # A leading = + - @ would make a spreadsheet run the cell as a formula.
                ("'" + entry.reason) if entry.reason[:1] in {"=", "+", "-", "@"} else entry.reason,
                entry.details,
            ]
        )
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="kindred-audit-{community.slug}.csv"'},
    )


async def slow_mode(request: Request) -> Response:
    form = await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community, actor = await _community_and_actor(connection, request)
        room = await rooms.in_community(connection, community.id, request.path_params["room"])
        if room is None:
            raise not_found()
        seconds = text(form, "seconds", 10)
        await moderation.do_set_slow_mode(connection, actor, room, int(seconds) if seconds.isdigit() else -1)
    return redirect(f"/c/{community.slug}/live/{room.slug}")


routes = [
    Route("/c/{slug}/members", members_page, methods=["GET"]),
    Route("/c/{slug}/members/{username}/mute", mute, methods=["POST"]),
    Route("/c/{slug}/members/{username}/unmute", unmute, methods=["POST"]),
    Route("/c/{slug}/members/{username}/ban", ban, methods=["POST"]),
    Route("/c/{slug}/members/{username}/unban", unban, methods=["POST"]),
    Route("/c/{slug}/audit", audit_page, methods=["GET"]),
    Route("/c/{slug}/audit.csv", audit_csv, methods=["GET"]),
    Route("/c/{slug}/live/{room}/slow-mode", slow_mode, methods=["POST"]),
]

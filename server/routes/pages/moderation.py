"""Leaders' pages: members with mute and ban, the audit log (and its CSV), room slow mode."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.actions import audit_log, communities, moderation, pseudonyms
from server.actions.access import require_moderator
from server.errors import AppError, InvalidInput, returns_to_form
from server.routes.forms import errors_for, read_form, redirect, text
from server.templating import render

AUDIT_PAGE = 100


async def members_page(
    request: Request,
    errors: dict[str, str] | None = None,
    status: int = 200,
    revealed: dict[str, str] | None = None,
) -> Response:
    async with request.app.state.db.acquire() as connection:
        community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        view = await moderation.members_view(connection, actor)
    return render(
        request,
        "moderation/members.html",
        {
            "community": community,
            "members": view.members,
            "sanctions": view.sanctions,
            "durations": [*moderation.MUTE_CHOICES, "until_lifted"],
            "errors": errors or {},
            "revealed": revealed or {},
        },
        status=status,
    )


async def reveal(request: Request) -> Response:
    """A leader asks who is behind a pseudonym: shown on this one page, and written to the audit log."""
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community, _actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        account = await pseudonyms.reveal(connection, request.state.user, community, request.path_params["username"])
    return await members_page(request, revealed={request.path_params["username"]: account.username})


async def _act(request: Request, verb: str) -> Response:
    form = await read_form(request)
    username = request.path_params["username"]
    try:
        async with request.app.state.db.acquire() as connection:
            community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
            if verb == "mute":
                await moderation.do_mute(
                    connection,
                    actor,
                    username,
                    duration=text(form, "duration", 20),
                    reason=text(form, "reason", 2000),
                    community_slug=community.slug,
                )
            elif verb == "unmute":
                await moderation.do_unmute(connection, actor, username, community_slug=community.slug)
            elif verb == "ban":
                await moderation.do_ban(connection, actor, username, reason=text(form, "reason", 2000))
            elif verb == "unban":
                await moderation.do_unban(connection, actor, username)
    except AppError as error:
        if not returns_to_form(error):
            raise
        return await members_page(request, {username: error.message}, status=error.status)
    return redirect(f"/c/{community.slug}/members")


async def mute(request: Request) -> Response:
    return await _act(request, "mute")


async def unmute(request: Request) -> Response:
    return await _act(request, "unmute")


async def ban(request: Request) -> Response:
    return await _act(request, "ban")


async def unban(request: Request) -> Response:
    return await _act(request, "unban")


_AUDIT_FILTERS = ("member", "action", "since", "until")


def _audit_filter_values(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "")[:100] for name in _AUDIT_FILTERS}


async def audit_page(request: Request) -> Response:
    before = request.query_params.get("before")
    values = _audit_filter_values(request)
    errors: dict[str, str] = {}
    lines: list[audit_log.AuditLine] = []
    async with request.app.state.db.acquire() as connection:
        community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        try:
            where = audit_log.read_filter(**values)
        except InvalidInput as error:
            require_moderator(actor)  # a refusal comes before any word about the filter
            errors = errors_for(error)
        else:
            lines = await audit_log.read_log(
                connection,
                actor,
                before_id=int(before) if before and before.isdigit() and len(before) < 19 else None,
                limit=AUDIT_PAGE,
                where=where,
            )
    kept = {name: value for name, value in values.items() if value}
    context = {
        "community": community,
        "lines": lines,
        "page_size": AUDIT_PAGE,
        "values": values,
        "errors": errors,
        "choices": audit_log.action_choices(),
        "filtered": bool(kept),
        "query": urlencode(kept),
    }
    return render(request, "moderation/audit.html", context, status=400 if errors else 200)


async def audit_csv(request: Request) -> Response:
    """The same entries as the page (its filters apply), with the machine columns: codes, not sentences."""
    async with request.app.state.db.acquire() as connection:
        community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        require_moderator(actor)
        where = audit_log.read_filter(**_audit_filter_values(request))
        lines = await audit_log.read_log(connection, actor, before_id=None, limit=100_000, where=where)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["id", "when_utc", "who", "action", "target_member", "target_kind", "target_id", "reason", "details"]
    )
    for entry in (line.entry for line in lines):
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
        community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        seconds = text(form, "seconds", 10)
        room = await moderation.do_set_slow_mode_in(
            connection, actor, request.path_params["room"], int(seconds) if seconds.isdigit() else -1
        )
    return redirect(f"/c/{community.slug}/live/{room.slug}")


routes = [
    Route("/c/{slug}/members", members_page, methods=["GET"]),
    Route("/c/{slug}/members/{username}/mute", mute, methods=["POST"]),
    Route("/c/{slug}/members/{username}/unmute", unmute, methods=["POST"]),
    Route("/c/{slug}/members/{username}/ban", ban, methods=["POST"]),
    Route("/c/{slug}/members/{username}/unban", unban, methods=["POST"]),
    Route("/c/{slug}/members/{username}/reveal", reveal, methods=["POST"]),
    Route("/c/{slug}/audit", audit_page, methods=["GET"]),
    Route("/c/{slug}/audit.csv", audit_csv, methods=["GET"]),
    Route("/c/{slug}/live/{room}/slow-mode", slow_mode, methods=["POST"]),
]

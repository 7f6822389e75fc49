"""Who can read and join a community: the leaders' page for reading rules, invite links and join
requests, and the page an invite link opens."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import auth
from server.actions import communities, invites
from server.actions.communities import Community
from server.actions.invites import NewInvite
from server.errors import AppError, not_found, returns_to_form
from server.i18n import _
from server.routes.forms import errors_for, read_form, redirect, text
from server.templating import render

NOTICES = {
    "saved": lambda: _("Saved: the new rules apply now."),
    "revoked": lambda: _("The link was revoked: it no longer lets anyone in."),
    "approved": lambda: _("Request approved: they are a member now, and were told."),
    "declined": lambda: _("Request declined: they were told."),
}


async def _reading_page(
    request: Request,
    community: Community,
    rules: communities.ReadingRules,
    *,
    errors: dict[str, str] | None = None,
    new_invite: NewInvite | None = None,
    status: int = 200,
) -> Response:
    notice = NOTICES.get(request.query_params.get("done", ""))
    async with request.app.state.db.acquire() as connection:
        view = await invites.for_leaders(connection, request.state.user, community)
    context = {
        "community": community,
        "rules": rules,
        "errors": errors or {},
        "notice": notice() if notice else None,
        "invites": view.invites,
        "requests": view.requests,
        "new_invite": new_invite,
        "base_url": str(request.base_url).rstrip("/"),
    }
    return render(request, "moderation/reading.html", context, status=status)


def _rules(community: Community) -> communities.ReadingRules:
    return communities.ReadingRules(community.visibility, community.introductions_open, community.rooms_open)


async def reading_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        rules = communities.reading_rules_of(actor, community)
    return await _reading_page(request, community, rules)


async def set_reading(request: Request) -> Response:
    form = await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community, _actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        try:
            rules = communities.check_reading_rules(
                text(form, "visibility", 20),
                introductions_open=text(form, "introductions_open", 10) == "on",
                rooms_open=text(form, "rooms_open", 10) == "on",
            )
            await communities.do_set_reading_rules(connection, request.state.user, community, rules)
        except AppError as error:
            if not returns_to_form(error):
                raise
            return await _reading_page(
                request, community, _rules(community), errors=errors_for(error), status=error.status
            )
    return redirect(f"/c/{community.slug}/reading?done=saved")


async def create_invite(request: Request) -> Response:
    form = await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community, _actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        try:
            made = await invites.create(
                connection,
                request.state.user,
                community,
                needs_approval=text(form, "needs_approval", 10) == "on",
                days=invites.check_days(text(form, "days", 10)),
            )
        except AppError as error:
            if not returns_to_form(error):
                raise
            return await _reading_page(
                request, community, _rules(community), errors=errors_for(error), status=error.status
            )
    # Shown once, on this page: only the token's hash is kept, and a redirect would put it in a URL.
    return await _reading_page(request, community, _rules(community), new_invite=made, status=201)


async def revoke_invite(request: Request) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community, _actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        await invites.revoke(connection, request.state.user, community, request.path_params["invite_id"])
    return redirect(f"/c/{community.slug}/reading?done=revoked#invites")


async def decide_request(request: Request) -> Response:
    await read_form(request)
    decision = request.path_params["decision"]
    if decision not in ("approve", "decline"):
        raise not_found(_("There is no such page."))
    approve = decision == "approve"
    async with request.app.state.db.acquire() as connection:
        community, _actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        await invites.decide(
            connection, request.state.user, community, request.path_params["request_id"], approve=approve
        )
    return redirect(f"/c/{community.slug}/reading?done={'approved' if approve else 'declined'}#requests")


async def invitation_page(
    request: Request, *, errors: dict[str, str] | None = None, message: str = "", status: int = 200
) -> Response:
    async with request.app.state.db.acquire() as connection:
        invitation = await invites.open_link(connection, auth.current_user(request), request.path_params["token"])
    context = {
        "invitation": invitation,
        "token": request.path_params["token"],
        "errors": errors or {},
        "message": message,
        "asked": request.query_params.get("done") == "asked",
    }
    return render(request, "communities/invitation.html", context, status=status)


async def follow_invite(request: Request) -> Response:
    form = await read_form(request)
    token = request.path_params["token"]
    message = text(form, "message", invites.MESSAGE_LIMIT * 2)
    try:
        async with request.app.state.db.acquire() as connection:
            followed = await invites.follow(connection, auth.current_user(request), token, message=message)
    except AppError as error:
        if not returns_to_form(error):
            raise
        return await invitation_page(request, errors=errors_for(error), message=message, status=error.status)
    if followed.outcome == "asked":
        return redirect(f"/join/{token}?done=asked")
    return redirect(f"/c/{followed.community.slug}?notice=joined")


routes = [
    Route("/c/{slug}/reading", reading_page, methods=["GET"]),
    Route("/c/{slug}/reading", set_reading, methods=["POST"]),
    Route("/c/{slug}/invites", create_invite, methods=["POST"]),
    Route("/c/{slug}/invites/{invite_id:int}/revoke", revoke_invite, methods=["POST"]),
    Route("/c/{slug}/requests/{request_id:int}/{decision:str}", decide_request, methods=["POST"]),
    Route("/join/{token}", invitation_page, methods=["GET"]),
    Route("/join/{token}", follow_invite, methods=["POST"]),
]

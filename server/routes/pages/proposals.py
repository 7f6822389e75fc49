"""Proposing a new community (/communities/new) and the site admins' decisions (/admin/proposals)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import auth
from server.actions import catalogue, proposals
from server.errors import AppError, returns_to_form
from server.i18n import _
from server.routes.forms import errors_for, read_form, redirect, text
from server.routes.pages.communities import login_redirect, path_id
from server.templating import render

_FIELDS = ("name", "synonyms", "description", "reason", "codes")


def _notice(key: str | None) -> str | None:
    notices = {
        "proposed": _("Thank you. A site admin will look at your proposal; you will see the decision here."),
        "approved": _("The proposal was approved and the community is open."),
        "declined": _("The proposal was declined; the proposer has been told why."),
    }
    return notices.get(key or "")


async def _new_page(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
    find: str = "",
) -> Response:
    errors = dict(errors or {})
    async with request.app.state.db.acquire() as connection:
        own = await proposals.list_own_with_offers(connection, auth.current_user(request))
        # The plain search (without JavaScript) and the type-ahead's answer for it.
        matches = await catalogue.suggest(connection, find) if find else []
        chosen = None
        if values.get("codes"):
            try:
                chosen = await catalogue.condition_facts(connection, values["codes"].split()[0])
            except AppError as error:
                errors.setdefault("code", error.message)
                values = {**values, "codes": ""}
                status = max(status, error.status)
        source = await catalogue.source(connection)
    context = {
        "values": values,
        "errors": errors,
        "own": own,
        "find": find,
        "matches": matches,
        "chosen": chosen,
        "catalogue_source": catalogue.acknowledgement(source) if source else None,
        "source_url": catalogue.source_url,
        "frequency_label": catalogue.frequency_label,
        "notice": _notice(request.query_params.get("notice")),
        "limits": {
            "name": proposals.MAX_NAME,
            "description": proposals.MAX_DESCRIPTION,
            "reason": proposals.MAX_REASON,
        },
    }
    return render(request, "communities/new.html", context, status=status)


async def new_page(request: Request) -> Response:
    """?find=… searches the catalogue; ?code=ORPHA:… picks a condition; ?name=… starts a free-text proposal."""
    if auth.current_user(request) is None:
        return login_redirect(request)
    params = request.query_params
    values = {"name": params.get("name", "")[:120], "codes": params.get("code", "")[:40].strip()}
    return await _new_page(request, values, find=params.get("find", "")[:200])


async def propose(request: Request) -> Response:
    form = await read_form(request)
    values = {name: text(form, name, 10_000) for name in _FIELDS}
    user = auth.current_user(request)
    try:
        proposals.require_proposer(user)
        data = proposals.check_proposal(**values)
        async with request.app.state.db.acquire() as connection:
            await proposals.do_propose(connection, user, data)
    except AppError as error:
        if not returns_to_form(error):
            raise
        return await _new_page(request, values, errors_for(error), error.status)
    return redirect("/communities/new?notice=proposed#your-proposals")


async def admin_page(request: Request) -> Response:
    user = auth.current_user(request)
    if user is None:
        return login_redirect(request)
    async with request.app.state.db.acquire() as connection:
        listed = await proposals.list_for_admin(connection, user)
    context: dict[str, object] = {
        "proposals": listed,
        "notice": _notice(request.query_params.get("notice")),
        "errors": {},
        "failed_id": None,
        "values": {},
    }
    return render(request, "communities/admin_proposals.html", context)


async def decide(request: Request) -> Response:
    form = await read_form(request)
    decision = text(form, "decision", 20)
    reason = text(form, "reason", 5000)
    proposal_id = path_id(request, "proposal_id")
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        try:
            decided = await proposals.do_decide(connection, user, proposal_id, decision, reason)
        except AppError as error:
            if not returns_to_form(error):
                raise
            listed = await proposals.list_for_admin(connection, user)
            context: dict[str, object] = {
                "proposals": listed,
                "notice": None,
                "errors": errors_for(error),
                "failed_id": proposal_id,
                "values": {"reason": reason, "decision": decision},
            }
            return render(request, "communities/admin_proposals.html", context, status=error.status)
    return redirect(f"/admin/proposals?notice={decided.status}")


routes = [
    Route("/communities/new", new_page, methods=["GET"]),
    Route("/communities/new", propose, methods=["POST"]),
    Route("/admin/proposals", admin_page, methods=["GET"]),
    Route("/admin/proposals/{proposal_id:int}/decision", decide, methods=["POST"]),
]

"""The families page of a community (/c/<slug>/families): opt in with a few facts, see overlapping families, connect."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.actions import communities, families
from server.actions.communities import Community
from server.errors import AppError, not_found, returns_to_form
from server.i18n import _
from server.routes.forms import errors_for, read_form, redirect, text
from server.templating import render

NOTICES = {
    "saved": lambda: _("Saved: families who share facts with yours can find you now."),
    "removed": lambda: _("Your facts were deleted: other families no longer see you here."),
    "asked": lambda: _("Request sent: they were told, and you will be when they answer."),
    "accepted": lambda: _("Connected: you can write to each other now."),
    "declined": lambda: _("Request declined."),
    "blocked": lambda: _("Blocked: they cannot ask to connect with you again."),
}

FIELDS = ("gene", "variant", "subtype", "treatments", "age_band", "country", "languages")


def _values(form: FormData) -> dict[str, str]:
    return {name: text(form, name, 1000) for name in FIELDS}


def _values_of(facts: families.Facts | None) -> dict[str, str]:
    if facts is None:
        return {}
    return {
        "gene": facts.gene,
        "variant": facts.variant,
        "subtype": facts.subtype,
        "treatments": ", ".join(facts.treatments),
        "age_band": facts.age_band,
        "country": facts.country,
        "languages": ", ".join(facts.languages),
    }


async def _page(
    request: Request,
    community: Community,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    async with request.app.state.db.acquire() as connection:
        view = await families.view(connection, request.state.user, community)
    notice = NOTICES.get(request.query_params.get("done", ""))
    context = {
        "community": community,
        "view": view,
        "values": values if values is not None else _values_of(view.facts),
        "errors": errors or {},
        "notice": notice() if notice else None,
        "age_bands": [(band, families.age_band_label(band)) for band in families.AGE_BANDS],
        "age_band_label": families.age_band_label,
    }
    return render(request, "communities/families.html", context, status=status)


async def families_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, request.path_params["slug"], request.state.user)
    return await _page(request, community)


async def save_facts(request: Request) -> Response:
    form = await read_form(request)
    values = _values(form)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, request.path_params["slug"], request.state.user)
        try:
            facts = families.check_facts(**values)
            await families.do_opt_in(connection, request.state.user, community, facts)
        except AppError as error:
            if not returns_to_form(error):
                raise
            return await _page(request, community, values=values, errors=errors_for(error), status=error.status)
    return redirect(f"/c/{community.slug}/families?done=saved")


async def opt_out(request: Request) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, request.path_params["slug"], request.state.user)
        await families.do_opt_out(connection, request.state.user, community)
    return redirect(f"/c/{community.slug}/families?done=removed")


async def connect(request: Request) -> Response:
    form = await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, request.path_params["slug"], request.state.user)
        try:
            await families.do_request(
                connection, request.app.state.limiter, request.state.user, community, text(form, "handle", 64)
            )
        except AppError as error:
            if not returns_to_form(error):
                raise
            return await _page(request, community, errors={"connect": error.message}, status=error.status)
    return redirect(f"/c/{community.slug}/families?done=asked#matches")


async def answer(request: Request) -> Response:
    await read_form(request)
    decision = request.path_params["decision"]
    if decision not in ("accept", "decline", "block"):
        raise not_found(_("There is no such page."))
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, request.path_params["slug"], request.state.user)
        if decision == "block":
            await families.do_block_request(
                connection, request.state.user, community, request.path_params["connection_id"]
            )
            return redirect(f"/c/{community.slug}/families?done=blocked#requests")
        answered = await families.do_answer(
            connection,
            request.state.user,
            community,
            request.path_params["connection_id"],
            accept=decision == "accept",
        )
    if answered.status == "accepted":
        return redirect(f"/conversations/{answered.id}")
    return redirect(f"/c/{community.slug}/families?done=declined#requests")


routes = [
    Route("/c/{slug}/families", families_page, methods=["GET"]),
    Route("/c/{slug}/families", save_facts, methods=["POST"]),
    Route("/c/{slug}/families/opt-out", opt_out, methods=["POST"]),
    Route("/c/{slug}/families/connect", connect, methods=["POST"]),
    Route("/c/{slug}/families/requests/{connection_id:int}/{decision:str}", answer, methods=["POST"]),
]

"""Chat to knowledge pages: choosing a room's messages to propose as a tip, thread or (leaders) resource, and
each quoted author's answer (/c/<slug>/live/<room>/propose, /c/<slug>/quotes/<id>)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import auth
from server.actions import chat_knowledge, resources
from server.errors import AppError, returns_to_form
from server.routes.forms import errors_for, read_form, redirect, text
from server.routes.pages.communities import login_redirect, path_id
from server.templating import render


async def _form(
    request: Request, *, values: dict[str, str], chosen: set[int], errors: dict[str, str], status: int
) -> Response:
    async with request.app.state.db.acquire() as connection:
        form = await chat_knowledge.propose_form(
            connection, auth.current_user(request), request.path_params["slug"], request.path_params["room"]
        )
    context = {
        "community": form.community,
        "room": form.room,
        "messages": form.messages,
        "values": values,
        "chosen": chosen,
        "errors": errors,
        "note_max": chat_knowledge.NOTE_MAX,
        "may_add_resource": form.may_add_resource,
        "resource_kinds": resources.KINDS,
        "kind_label": resources.kind_label,
    }
    return render(request, "live/propose.html", context, status=status)


async def propose_page(request: Request) -> Response:
    if auth.current_user(request) is None:
        return login_redirect(request)
    seq = request.query_params.get("seq", "")
    chosen = {int(seq)} if seq.isdigit() and len(seq) < 19 else set()
    return await _form(request, values={"kind": "tip", "resource_kind": "other"}, chosen=chosen, errors={}, status=200)


async def propose(request: Request) -> Response:
    form = await read_form(request)
    values = {
        "kind": text(form, "kind", 20),
        "title": text(form, "title", 1000),
        "note": text(form, "note", 5000),
        "resource_kind": text(form, "resource_kind", 40),
        "url": text(form, "url", 5000),
    }
    chosen = {
        int(value) for value in form.getlist("seq") if isinstance(value, str) and value.isdigit() and len(value) < 19
    }
    try:
        async with request.app.state.db.acquire() as connection:
            proposal = await chat_knowledge.do_propose(
                connection,
                auth.current_user(request),
                request.path_params["slug"],
                request.path_params["room"],
                kind=values["kind"],
                title=values["title"],
                note=values["note"],
                seqs=sorted(chosen),
                resource_kind=values["resource_kind"],
                url=values["url"],
            )
    except AppError as error:
        if not returns_to_form(error):
            raise
        return await _form(request, values=values, chosen=chosen, errors=errors_for(error), status=error.status)
    return redirect(f"/c/{request.path_params['slug']}/quotes/{proposal.id}")


async def proposal_page(request: Request) -> Response:
    if auth.current_user(request) is None:
        return login_redirect(request)
    async with request.app.state.db.acquire() as connection:
        view = await chat_knowledge.open_proposal(
            connection, auth.current_user(request), request.path_params["slug"], path_id(request, "proposal_id")
        )
    context = {"view": view, "community": view.community, "errors": {}, "kind_label": resources.kind_label}
    return render(request, "live/proposal.html", context)


async def answer(request: Request) -> Response:
    form = await read_form(request)
    slug, proposal_id = request.path_params["slug"], path_id(request, "proposal_id")
    async with request.app.state.db.acquire() as connection:
        await chat_knowledge.do_answer(
            connection, auth.current_user(request), slug, proposal_id, text(form, "decision", 20)
        )
    return redirect(f"/c/{slug}/quotes/{proposal_id}")


routes = [
    Route("/c/{slug}/live/{room}/propose", propose_page, methods=["GET"]),
    Route("/c/{slug}/live/{room}/propose", propose, methods=["POST"]),
    Route("/c/{slug}/quotes/{proposal_id:int}", proposal_page, methods=["GET"]),
    Route("/c/{slug}/quotes/{proposal_id:int}/answer", answer, methods=["POST"]),
]

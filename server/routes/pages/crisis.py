"""The crisis path's forms on a review queue's "someone may be at risk" item: I reached out, a private
supportive message, hand over to the site admins."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.actions import communities, crisis
from server.errors import AppError, returns_to_form
from server.routes.forms import read_form, redirect, safe_next, text
from server.routes.pages.review import review_page

STEPS = ("reached-out", "support", "hand-over")


async def _step(request: Request, kind: str, step: str) -> Response:
    form = await read_form(request)
    item_id: int = request.path_params["item_id"]
    message = text(form, "message", 4000)
    key = f"support-{kind}-{item_id}"
    try:
        async with request.app.state.db.acquire() as connection:
            community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
            if step == "reached-out":
                await crisis.do_reached_out(connection, actor, kind, item_id)
            elif step == "support":
                await crisis.do_send_support(connection, actor, kind, item_id, message=message)
            else:
                await crisis.do_hand_over(connection, actor, kind, item_id)
    except AppError as error:
        if not returns_to_form(error):
            raise
        return await review_page(request, {f"{kind}-{item_id}": error.message}, {key: message}, status=error.status)
    return redirect(safe_next(text(form, "next", 500), f"/c/{community.slug}/review#flagged-{kind}-{item_id}"))


def _endpoint(kind: str, step: str) -> Any:
    async def endpoint(request: Request) -> Response:
        return await _step(request, kind, step)

    endpoint.__name__ = f"crisis_{step.replace('-', '_')}_{kind}"
    return endpoint


routes = [
    Route(f"/c/{{slug}}/review/{kind}s/{{item_id:int}}/{step}", _endpoint(kind, step), methods=["POST"])
    for kind in ("post", "message")
    for step in STEPS
]

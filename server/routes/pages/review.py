"""Leaders' review pages: the queue at /c/<slug>/review, approving and rejecting, flags, hiding posts, moving threads."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.actions import communities, moderation, review, thread_moderation
from server.actions import flags as flag_actions
from server.actions.access import require_moderator
from server.errors import AppError, returns_to_form
from server.routes.forms import read_form, redirect, safe_next, text
from server.templating import render


async def review_page(
    request: Request,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    async with request.app.state.db.acquire() as connection:
        community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        queue = await review.queue(connection, actor, escalate_minutes=request.app.state.settings.flag_escalate_minutes)
    return render(
        request,
        "moderation/review.html",
        {
            "community": community,
            "actor": actor,
            "queue": queue,
            "reasons": flag_actions.reason_labels(),
            "errors": errors or {},
            "values": values or {},
        },
        status=status,
    )


async def _decide(request: Request, kind: str, verb: str) -> Response:
    form = await read_form(request)
    item_id: int = request.path_params["item_id"]
    reason = text(form, "reason", 2000)
    key = f"{kind}-{item_id}"
    try:
        async with request.app.state.db.acquire() as connection:
            community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
            require_moderator(actor)
            if verb in {"approve", "reject"} and kind == "post":
                if verb == "approve":
                    await review.do_approve_post(connection, actor, item_id)
                else:
                    await review.do_reject_post(connection, actor, item_id, reason=reason)
            elif verb in {"approve", "reject"}:
                if verb == "approve":
                    await review.do_approve_message(connection, actor, item_id, community_slug=community.slug)
                else:
                    await review.do_reject_message(
                        connection, actor, item_id, reason=reason, community_slug=community.slug
                    )
            else:
                await flag_actions.do_resolve(connection, actor, kind, item_id, uphold=verb == "uphold", reason=reason)
    except AppError as error:
        if not returns_to_form(error):
            raise
        return await review_page(request, {key: error.message}, {key: reason}, status=error.status)
    return redirect(safe_next(text(form, "next", 500), f"/c/{community.slug}/review"))


def _decision(kind: str, verb: str) -> Any:
    async def endpoint(request: Request) -> Response:
        return await _decide(request, kind, verb)

    endpoint.__name__ = f"{verb}_{kind}"
    return endpoint


async def save_settings(request: Request) -> Response:
    form = await read_form(request)
    values = {name: text(form, name, 10) for name in ("hold_release_after", "flag_hide_threshold")}
    try:
        async with request.app.state.db.acquire() as connection:
            community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
            await review.do_set_settings(
                connection,
                actor,
                hold_first_posts=text(form, "hold_first_posts", 10) == "on",
                hold_release_after=values["hold_release_after"],
                flag_hide_threshold=values["flag_hide_threshold"],
            )
    except AppError as error:
        if not returns_to_form(error):
            raise
        return await review_page(request, {error.field or "settings": error.message}, values, status=error.status)
    return redirect(f"/c/{community.slug}/review?saved=1#settings")


# --- Hiding and restoring posts ------------------------------------------------------------------


async def _hide_form(request: Request, reason: str = "", error: str | None = None, status: int = 200) -> Response:
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
            "reason": reason,
            "error": error,
            "durations": [*moderation.MUTE_CHOICES, "until_lifted"],
        },
        status=status,
    )


async def hide_page(request: Request) -> Response:
    return await _hide_form(request)


async def hide(request: Request) -> Response:
    form = await read_form(request)
    reason = text(form, "reason", 2000)
    try:
        async with request.app.state.db.acquire() as connection:
            community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
            done = await thread_moderation.do_hide_post(
                connection, actor, request.path_params["post_id"], reason=reason
            )
    except AppError as error:
        if not returns_to_form(error):
            raise
        return await _hide_form(request, reason, error.message, status=error.status)
    return redirect(f"/c/{community.slug}/posts/{done.place.id}")


async def unhide(request: Request) -> Response:
    await read_form(request)
    async with request.app.state.db.acquire() as connection:
        community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        done = await thread_moderation.do_restore_post(connection, actor, request.path_params["post_id"])
    return redirect(f"/c/{community.slug}/posts/{done.place.id}")


# --- Moving threads --------------------------------------------------------------------------------


async def _move_form(request: Request, target: str = "", error: str | None = None, status: int = 200) -> Response:
    async with request.app.state.db.acquire() as connection:
        community, actor = await communities.with_actor(connection, request.state.user, request.path_params["slug"])
        thread = await thread_moderation.thread_to_move(connection, actor, request.path_params["thread_id"])
    return render(
        request,
        "moderation/move_thread.html",
        {"community": community, "thread": thread, "target": target, "error": error},
        status=status,
    )


async def move_page(request: Request) -> Response:
    return await _move_form(request)


async def move(request: Request) -> Response:
    form = await read_form(request)
    target = text(form, "target", 200)
    try:
        async with request.app.state.db.acquire() as connection:
            _community, actor = await communities.with_actor(
                connection, request.state.user, request.path_params["slug"]
            )
            moved = await thread_moderation.do_move_thread(
                connection, actor, request.path_params["thread_id"], target_slug=target
            )
    except AppError as error:
        if not returns_to_form(error):
            raise
        return await _move_form(request, target, error.message, status=error.status)
    return redirect(f"/c/{moved.target.slug}/t/{moved.thread.id}")


routes = [
    Route("/c/{slug}/review", review_page, methods=["GET"]),
    Route("/c/{slug}/review/settings", save_settings, methods=["POST"]),
    *[
        Route(f"/c/{{slug}}/review/{kind}s/{{item_id:int}}/{verb}", _decision(kind, verb), methods=["POST"])
        for kind in ("post", "message")
        for verb in ("approve", "reject", "uphold", "dismiss")
    ],
    Route("/c/{slug}/posts/{post_id:int}/hide", hide_page, methods=["GET"]),
    Route("/c/{slug}/posts/{post_id:int}/hide", hide, methods=["POST"]),
    Route("/c/{slug}/posts/{post_id:int}/unhide", unhide, methods=["POST"]),
    Route("/c/{slug}/t/{thread_id:int}/move", move_page, methods=["GET"]),
    Route("/c/{slug}/t/{thread_id:int}/move", move, methods=["POST"]),
]

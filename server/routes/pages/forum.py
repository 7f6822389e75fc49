"""Forum pages: thread lists, threads, replies, edits, reactions, introductions, questions and the expert badge."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import auth
from server.actions import introductions, review, threads
from server.actions.threads import Place
from server.actions.waiting import review_badge
from server.errors import AppError, bad_request, returns_to_form
from server.i18n import _
from server.presentation import fragments
from server.routes.forms import read_form, redirect, text
from server.templating import environment, render


def slug_of(request: Request) -> str:
    return str(request.path_params["slug"])


def int_param(request: Request, name: str) -> int:
    raw = request.query_params.get(name, "") or "0"
    if not raw.isdigit() or len(raw) > 18:
        raise bad_request(_("That page link is not valid."), name)
    return int(raw)


def page_context(place: Place, **values: Any) -> dict[str, Any]:
    return {
        "place": place,
        "community": place.community,
        "actor": place.actor,
        "when": fragments.when,
        "L": fragments.labels(),
        "replies": fragments.replies,
        **values,
    }


# --- Lists ------------------------------------------------------------------------------


async def forum_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        place = await threads.open_community(connection, auth.current_user(request), slug_of(request))
        listing = await threads.list_threads(connection, place, cursor=request.query_params.get("cursor"))
        held = await review.own_held_threads(connection, place)
        badge = await review_badge(connection, place.actor)
    context = page_context(
        place,
        listing=listing,
        section="forum",
        review_waiting=badge,
        held_threads=held,
        row_html=fragments.thread_row(environment(request), place.community.slug),
        rows_html=fragments.thread_rows(environment(request), place.community.slug, listing.rows),
    )
    return render(request, "forum/list.html", context)


async def introductions_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        place = await threads.open_community(connection, auth.current_user(request), slug_of(request))
        listing = await threads.list_threads(
            connection, place, kind="introduction", cursor=request.query_params.get("cursor")
        )
        waiting = await introductions.waiting_for_welcome(connection, place) if place.actor.can_moderate else []
        welcomer = await introductions.is_welcomer(connection, place)
        held = await review.own_held_threads(connection, place)
        badge = await review_badge(connection, place.actor)
    context = page_context(
        place,
        listing=listing,
        section="introductions",
        review_waiting=badge,
        held_threads=held,
        waiting=waiting,
        welcomer=welcomer,
        row_html=fragments.thread_row(environment(request), place.community.slug),
        rows_html=fragments.thread_rows(environment(request), place.community.slug, listing.rows),
    )
    return render(request, "forum/list.html", context)


async def questions_page(request: Request) -> Response:
    unanswered = request.query_params.get("open") == "1"
    async with request.app.state.db.acquire() as connection:
        place = await threads.open_community(connection, auth.current_user(request), slug_of(request))
        listing = await threads.list_threads(
            connection, place, kind="question", unanswered=unanswered, cursor=request.query_params.get("cursor")
        )
        held = await review.own_held_threads(connection, place)
        badge = await review_badge(connection, place.actor)
    context = page_context(
        place,
        listing=listing,
        section="questions",
        review_waiting=badge,
        held_threads=held,
        unanswered=unanswered,
        row_html=fragments.thread_row(environment(request), place.community.slug),
        rows_html=fragments.thread_rows(environment(request), place.community.slug, listing.rows),
    )
    return render(request, "forum/list.html", context)


# --- Starting threads: discussions, questions, introductions ----------------------------

_NEW_THREAD = {
    "discussion": ("forum/new_thread.html", "forum"),
    "question": ("forum/new_thread.html", "questions"),
}


async def _new_thread_form(request: Request, kind: str) -> Response:
    template, section = _NEW_THREAD[kind]
    async with request.app.state.db.acquire() as connection:
        place = await threads.open_community(connection, auth.current_user(request), slug_of(request))
        if not place.can_read:
            raise threads.thread_not_found()
        badge = await review_badge(connection, place.actor)
    context = page_context(place, kind=kind, section=section, values={}, errors={}, review_waiting=badge)
    return render(request, template, context)


async def _create_thread(request: Request, kind: str) -> Response:
    form = await read_form(request)
    values = {
        "title": text(form, "title", 1000),
        "body": text(form, "body", 60_000),
        "audience": text(form, "audience", 20),
    }
    template, section = _NEW_THREAD[kind]
    async with request.app.state.db.acquire() as connection:
        place = await threads.open_community(connection, auth.current_user(request), slug_of(request))
        try:
            started = await threads.do_create_thread(
                connection,
                request.app.state.limiter,
                place,
                title=values["title"],
                body=values["body"],
                kind=kind,
                audience=values["audience"],
            )
        except AppError as error:
            if not returns_to_form(error):
                raise
            context = page_context(
                place,
                kind=kind,
                section=section,
                values=values,
                errors={error.field or "form": error.message},
                review_waiting=await review_badge(connection, place.actor),
            )
            return render(request, template, context, status=error.status)
    return redirect(f"/c/{place.community.slug}/t/{started.thread_id}")


async def new_discussion_page(request: Request) -> Response:
    return await _new_thread_form(request, "discussion")


async def create_discussion(request: Request) -> Response:
    return await _create_thread(request, "discussion")


async def ask_page(request: Request) -> Response:
    return await _new_thread_form(request, "question")


async def ask(request: Request) -> Response:
    return await _create_thread(request, "question")


async def introduction_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        place = await threads.open_community(connection, auth.current_user(request), slug_of(request))
        if not place.can_read:
            raise threads.thread_not_found()
        badge = await review_badge(connection, place.actor)
    context = page_context(place, values={}, errors={}, review_waiting=badge)
    return render(request, "forum/introduction_new.html", context)


async def introduce(request: Request) -> Response:
    form = await read_form(request)
    values = {name: text(form, name, 2000) for name in (*introductions.FIELDS, "title", "audience")}
    values["free_text"] = text(form, "free_text", 60_000)
    async with request.app.state.db.acquire() as connection:
        place = await threads.open_community(connection, auth.current_user(request), slug_of(request))
        try:
            started = await introductions.do_introduce(
                connection,
                request.app.state.limiter,
                place,
                fields={name: values[name] for name in introductions.FIELDS},
                free_text=values["free_text"],
                title=values["title"],
                audience=values["audience"],
            )
        except AppError as error:
            if not returns_to_form(error):
                raise
            errors = {error.field or "form": error.message}
            return render(
                request,
                "forum/introduction_new.html",
                page_context(
                    place,
                    values=values,
                    errors=errors,
                    review_waiting=await review_badge(connection, place.actor),
                ),
                status=error.status,
            )
    return redirect(f"/c/{place.community.slug}/t/{started.thread_id}")


async def welcomer(request: Request) -> Response:
    form = await read_form(request)
    async with request.app.state.db.acquire() as connection:
        place = await threads.open_community(connection, auth.current_user(request), slug_of(request))
        await introductions.do_set_welcomer(connection, place, text(form, "welcome", 10) == "on")
    return redirect(f"/c/{place.community.slug}/introductions")


routes = [
    Route("/c/{slug}/forum", forum_page, methods=["GET"]),
    Route("/c/{slug}/forum/new", new_discussion_page, methods=["GET"]),
    Route("/c/{slug}/forum/new", create_discussion, methods=["POST"]),
    Route("/c/{slug}/introductions", introductions_page, methods=["GET"]),
    Route("/c/{slug}/introductions/new", introduction_page, methods=["GET"]),
    Route("/c/{slug}/introductions/new", introduce, methods=["POST"]),
    Route("/c/{slug}/welcomer", welcomer, methods=["POST"]),
    Route("/c/{slug}/questions", questions_page, methods=["GET"]),
    Route("/c/{slug}/ask", ask_page, methods=["GET"]),
    Route("/c/{slug}/ask", ask, methods=["POST"]),
]

"""Forum pages: thread lists, threads, replies, edits, reactions, introductions, questions and the expert badge."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import auth
from server.actions import introductions, posts, questions, reactions, review, threads
from server.actions.threads import Place, ThreadView
from server.errors import AppError, bad_request, returns_to_form
from server.i18n import _
from server.presentation import fragments
from server.routes.forms import read_form, redirect, text
from server.templating import environment, render


def _slug(request: Request) -> str:
    return str(request.path_params["slug"])


def _int_param(request: Request, name: str) -> int:
    raw = request.query_params.get(name, "") or "0"
    if not raw.isdigit() or len(raw) > 18:
        raise bad_request(_("That page link is not valid."), name)
    return int(raw)


def _context(place: Place, **values: Any) -> dict[str, Any]:
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
        place = await threads.open_community(connection, auth.current_user(request), _slug(request))
        listing = await threads.list_threads(connection, place, cursor=request.query_params.get("cursor"))
        held = await review.own_held_threads(connection, place)
    context = _context(
        place,
        listing=listing,
        section="forum",
        held_threads=held,
        row_html=fragments.thread_row(environment(request), place.community.slug),
        rows_html=fragments.thread_rows(environment(request), place.community.slug, listing.rows),
    )
    return render(request, "forum/list.html", context)


async def introductions_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        place = await threads.open_community(connection, auth.current_user(request), _slug(request))
        listing = await threads.list_threads(
            connection, place, kind="introduction", cursor=request.query_params.get("cursor")
        )
        waiting = await introductions.waiting_for_welcome(connection, place) if place.actor.can_moderate else []
        welcomer = await introductions.is_welcomer(connection, place)
        held = await review.own_held_threads(connection, place)
    context = _context(
        place,
        listing=listing,
        section="introductions",
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
        place = await threads.open_community(connection, auth.current_user(request), _slug(request))
        listing = await threads.list_threads(
            connection, place, kind="question", unanswered=unanswered, cursor=request.query_params.get("cursor")
        )
        held = await review.own_held_threads(connection, place)
    context = _context(
        place,
        listing=listing,
        section="questions",
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
        place = await threads.open_community(connection, auth.current_user(request), _slug(request))
    if not place.can_read:
        raise threads.thread_not_found()
    context = _context(place, kind=kind, section=section, values={}, errors={})
    return render(request, template, context)


async def _create_thread(request: Request, kind: str) -> Response:
    form = await read_form(request)
    values = {"title": text(form, "title", 1000), "body": text(form, "body", 60_000)}
    template, section = _NEW_THREAD[kind]
    async with request.app.state.db.acquire() as connection:
        place = await threads.open_community(connection, auth.current_user(request), _slug(request))
        try:
            started = await threads.do_create_thread(
                connection, request.app.state.limiter, place, title=values["title"], body=values["body"], kind=kind
            )
        except AppError as error:
            if not returns_to_form(error):
                raise
            context = _context(
                place, kind=kind, section=section, values=values, errors={error.field or "form": error.message}
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
        place = await threads.open_community(connection, auth.current_user(request), _slug(request))
    if not place.can_read:
        raise threads.thread_not_found()
    return render(request, "forum/introduction_new.html", _context(place, values={}, errors={}))


async def introduce(request: Request) -> Response:
    form = await read_form(request)
    values = {name: text(form, name, 2000) for name in (*introductions.FIELDS, "title")}
    values["free_text"] = text(form, "free_text", 60_000)
    async with request.app.state.db.acquire() as connection:
        place = await threads.open_community(connection, auth.current_user(request), _slug(request))
        try:
            started = await introductions.do_introduce(
                connection,
                request.app.state.limiter,
                place,
                fields={name: values[name] for name in introductions.FIELDS},
                free_text=values["free_text"],
                title=values["title"],
            )
        except AppError as error:
            if not returns_to_form(error):
                raise
            errors = {error.field or "form": error.message}
            return render(
                request,
                "forum/introduction_new.html",
                _context(place, values=values, errors=errors),
                status=error.status,
            )
    return redirect(f"/c/{place.community.slug}/t/{started.thread_id}")


async def welcomer(request: Request) -> Response:
    form = await read_form(request)
    async with request.app.state.db.acquire() as connection:
        place = await threads.open_community(connection, auth.current_user(request), _slug(request))
        await introductions.do_set_welcomer(connection, place, text(form, "welcome", 10) == "on")
    return redirect(f"/c/{place.community.slug}/introductions")


# --- A thread ---------------------------------------------------------------------------


def _quoted(view: ThreadView, quote_id: int) -> Any:
    for post in view.posts:
        if post.id == quote_id and post.state == "visible":
            return post
    return None


async def _thread_response(
    request: Request,
    view: ThreadView,
    *,
    after: int = 0,
    draft: str = "",
    error: str | None = None,
    quote_id: int = 0,
    status: int = 200,
) -> Response:
    context = _context(
        view.place,
        view=view,
        thread=view.thread,
        section={"introduction": "introductions", "question": "questions"}.get(view.thread.kind, "forum"),
        after=after,
        draft=draft,
        reply_error=error,
        quote=_quoted(view, quote_id) if quote_id else None,
        posts_html=fragments.posts_html(environment(request), view, after),
    )
    return render(request, "forum/thread.html", context, status=status)


async def thread_page(request: Request) -> Response:
    after = _int_param(request, "after")
    quote_id = _int_param(request, "quote")
    async with request.app.state.db.acquire() as connection:
        view = await threads.view_thread(
            connection, auth.current_user(request), request.path_params["thread_id"], slug=_slug(request), after=after
        )
    return await _thread_response(request, view, after=after, quote_id=quote_id)


async def reply(request: Request) -> Response:
    form = await read_form(request)
    body = text(form, "body", 60_000)
    quote_raw = text(form, "reply_to_post_id", 20)
    quote_id = int(quote_raw) if quote_raw.isdigit() and len(quote_raw) < 19 else 0
    after_raw = text(form, "after", 20)
    user = auth.current_user(request)
    thread_id = request.path_params["thread_id"]
    async with request.app.state.db.acquire() as connection:
        try:
            done = await posts.do_reply(
                connection,
                request.app.state.limiter,
                user,
                thread_id,
                body=body,
                reply_to_post_id=quote_id or None,
                slug=_slug(request),
            )
        except AppError as error:
            if not returns_to_form(error):
                raise
            # The draft comes back in the form with the reason next to it.
            after = int(after_raw) if after_raw.isdigit() and len(after_raw) < 19 else 0
            view = await threads.view_thread(connection, user, thread_id, slug=_slug(request), after=after)
            return await _thread_response(
                request, view, after=after, draft=body, error=error.message, quote_id=quote_id, status=error.status
            )
        url = await posts.locate(connection, user, done.post.id, _slug(request))
    return redirect(url)


async def post_permalink(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        url = await posts.locate(connection, auth.current_user(request), request.path_params["post_id"], _slug(request))
    return redirect(url)


async def edit_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        own = await posts.check_edit(
            connection, auth.current_user(request), request.path_params["post_id"], _slug(request)
        )
    context = _context(own.place, thread=own.thread, post=own.post, body=own.post.body_md, error=None)
    return render(request, "forum/edit_post.html", context)


async def edit(request: Request) -> Response:
    form = await read_form(request)
    body = text(form, "body", 60_000)
    user = auth.current_user(request)
    post_id = request.path_params["post_id"]
    async with request.app.state.db.acquire() as connection:
        try:
            await posts.do_edit(connection, user, post_id, body=body, slug=_slug(request))
        except AppError as error:
            # Only the author's own draft comes back (refused as muted, too long...); anything else is an error page.
            if not returns_to_form(error):
                raise
            place, thread, post = await posts.open_post(connection, user, post_id, _slug(request))
            context = _context(place, thread=thread, post=post, body=body, error=error.message)
            return render(request, "forum/edit_post.html", context, status=error.status)
        url = await posts.locate(connection, user, post_id, _slug(request))
    return redirect(url)


async def delete_post(request: Request) -> Response:
    await read_form(request)
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        await posts.do_delete(connection, user, request.path_params["post_id"], slug=_slug(request))
        url = await posts.locate(connection, user, request.path_params["post_id"], _slug(request))
    return redirect(url)


async def restore_post(request: Request) -> Response:
    await read_form(request)
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        await posts.do_restore(connection, user, request.path_params["post_id"], slug=_slug(request))
        url = await posts.locate(connection, user, request.path_params["post_id"], _slug(request))
    return redirect(url)


async def history_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        found = await posts.history(
            connection, auth.current_user(request), request.path_params["post_id"], _slug(request)
        )
    context = _context(found.place, thread=found.thread, post=found.post, revisions=found.revisions)
    return render(request, "forum/history.html", context)


async def react(request: Request) -> Response:
    form = await read_form(request)
    user = auth.current_user(request)
    post_id = request.path_params["post_id"]
    async with request.app.state.db.acquire() as connection:
        await reactions.do_toggle(connection, user, post_id, text(form, "kind", 20), slug=_slug(request))
        url = await posts.locate(connection, user, post_id, _slug(request))
    return redirect(url)


async def accept(request: Request) -> Response:
    form = await read_form(request)
    raw = text(form, "post_id", 20)
    if raw and (not raw.isdigit() or len(raw) > 18):
        raise bad_request(_("Choose one of the answers."), "post_id")
    async with request.app.state.db.acquire() as connection:
        thread = await questions.do_accept(
            connection,
            auth.current_user(request),
            request.path_params["thread_id"],
            int(raw) if raw else None,
            slug=_slug(request),
        )
    anchor = f"#post-{thread.accepted_post_id}" if thread.accepted_post_id else ""
    return redirect(f"/c/{thread.community_slug}/t/{thread.id}{anchor}")


async def _thread_flag(request: Request, flag: str) -> Response:
    form = await read_form(request)
    value = text(form, "value", 10) == "on"
    async with request.app.state.db.acquire() as connection:
        thread = await threads.do_set_thread_flags(
            connection,
            auth.current_user(request),
            request.path_params["thread_id"],
            slug=_slug(request),
            pinned=value if flag == "pin" else None,
            locked=value if flag == "lock" else None,
        )
    return redirect(f"/c/{thread.community_slug}/t/{thread.id}")


async def pin(request: Request) -> Response:
    return await _thread_flag(request, "pin")


async def lock(request: Request) -> Response:
    return await _thread_flag(request, "lock")


async def set_expert(request: Request) -> Response:
    form = await read_form(request)
    value = text(form, "expert", 10)
    if value not in {"on", "off"}:
        raise bad_request(_("Choose on or off."), "expert")
    username = request.path_params["username"]
    async with request.app.state.db.acquire() as connection:
        await questions.do_set_expert(connection, auth.current_user(request), username, value == "on")
    return redirect(f"/u/{username}")


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
    Route("/c/{slug}/t/{thread_id:int}", thread_page, methods=["GET"]),
    Route("/c/{slug}/t/{thread_id:int}/reply", reply, methods=["POST"]),
    Route("/c/{slug}/t/{thread_id:int}/accept", accept, methods=["POST"]),
    Route("/c/{slug}/t/{thread_id:int}/pin", pin, methods=["POST"]),
    Route("/c/{slug}/t/{thread_id:int}/lock", lock, methods=["POST"]),
    Route("/c/{slug}/posts/{post_id:int}", post_permalink, methods=["GET"]),
    Route("/c/{slug}/posts/{post_id:int}/edit", edit_page, methods=["GET"]),
    Route("/c/{slug}/posts/{post_id:int}/edit", edit, methods=["POST"]),
    Route("/c/{slug}/posts/{post_id:int}/delete", delete_post, methods=["POST"]),
    Route("/c/{slug}/posts/{post_id:int}/restore", restore_post, methods=["POST"]),
    Route("/c/{slug}/posts/{post_id:int}/history", history_page, methods=["GET"]),
    Route("/c/{slug}/posts/{post_id:int}/react", react, methods=["POST"]),
    Route("/admin/experts/{username}", set_expert, methods=["POST"]),
]

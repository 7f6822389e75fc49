"""Thread pages: a thread, replying (and quoting), editing, deleting and restoring posts, reactions, answers, pin and lock."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import auth
from server.actions import posts, questions, reactions, rooms, threads, waiting
from server.actions.threads import ThreadView
from server.errors import AppError, bad_request, returns_to_form
from server.i18n import _
from server.presentation import fragments
from server.routes.forms import read_form, redirect, text
from server.routes.pages.forum import int_param, page_context, slug_of
from server.templating import environment, render

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
    draft_audience: str = "",
    error: str | None = None,
    quote_id: int = 0,
    status: int = 200,
    review_note: str = "",
    review_waiting: int = 0,
) -> Response:
    context = page_context(
        view.place,
        view=view,
        thread=view.thread,
        section={"introduction": "introductions", "question": "questions"}.get(view.thread.kind, "forum"),
        after=after,
        draft=draft,
        draft_audience=draft_audience,
        reply_error=error,
        quote=_quoted(view, quote_id) if quote_id else None,
        posts_html=fragments.posts_html(environment(request), view, after),
        review_note=review_note,
        review_waiting=review_waiting,
    )
    return render(request, "forum/thread.html", context, status=status)


async def thread_page(request: Request) -> Response:
    after = int_param(request, "after")
    quote_id = int_param(request, "quote")
    async with request.app.state.db.acquire() as connection:
        view = await threads.view_thread(
            connection, auth.current_user(request), request.path_params["thread_id"], slug=slug_of(request), after=after
        )
        # A held thread tells its author what happens next, and roughly when.
        note = await rooms.review_note(connection, view.place.actor) if view.thread.state == "held" else ""
        badge = await waiting.review_badge(connection, view.place.actor)
    return await _thread_response(request, view, after=after, quote_id=quote_id, review_note=note, review_waiting=badge)


async def reply(request: Request) -> Response:
    form = await read_form(request)
    body = text(form, "body", 60_000)
    audience = text(form, "audience", 20)
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
                slug=slug_of(request),
                audience=audience,
            )
        except AppError as error:
            if not returns_to_form(error):
                raise
            # The draft comes back in the form with the reason next to it.
            after = int(after_raw) if after_raw.isdigit() and len(after_raw) < 19 else 0
            view = await threads.view_thread(connection, user, thread_id, slug=slug_of(request), after=after)
            return await _thread_response(
                request,
                view,
                after=after,
                draft=body,
                draft_audience=audience,
                error=error.message,
                quote_id=quote_id,
                status=error.status,
                review_waiting=await waiting.review_badge(connection, view.place.actor),
            )
        url = await posts.locate(connection, user, done.post.id, slug_of(request))
    return redirect(url)


async def post_permalink(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        url = await posts.locate(
            connection, auth.current_user(request), request.path_params["post_id"], slug_of(request)
        )
    return redirect(url)


async def edit_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        own = await posts.check_edit(
            connection, auth.current_user(request), request.path_params["post_id"], slug_of(request)
        )
        badge = await waiting.review_badge(connection, own.place.actor)
    context = page_context(
        own.place, thread=own.thread, post=own.post, body=own.post.body_md, error=None, review_waiting=badge
    )
    return render(request, "forum/edit_post.html", context)


async def edit(request: Request) -> Response:
    form = await read_form(request)
    body = text(form, "body", 60_000)
    user = auth.current_user(request)
    post_id = request.path_params["post_id"]
    async with request.app.state.db.acquire() as connection:
        try:
            await posts.do_edit(connection, user, post_id, body=body, slug=slug_of(request))
        except AppError as error:
            # Only the author's own draft comes back (refused as muted, too long...); anything else is an error page.
            if not returns_to_form(error):
                raise
            place, thread, post = await posts.open_post(connection, user, post_id, slug_of(request))
            badge = await waiting.review_badge(connection, place.actor)
            context = page_context(
                place, thread=thread, post=post, body=body, error=error.message, review_waiting=badge
            )
            return render(request, "forum/edit_post.html", context, status=error.status)
        url = await posts.locate(connection, user, post_id, slug_of(request))
    return redirect(url)


async def delete_post(request: Request) -> Response:
    await read_form(request)
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        await posts.do_delete(connection, user, request.path_params["post_id"], slug=slug_of(request))
        url = await posts.locate(connection, user, request.path_params["post_id"], slug_of(request))
    return redirect(url)


async def restore_post(request: Request) -> Response:
    await read_form(request)
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        await posts.do_restore(connection, user, request.path_params["post_id"], slug=slug_of(request))
        url = await posts.locate(connection, user, request.path_params["post_id"], slug_of(request))
    return redirect(url)


async def history_page(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        found = await posts.history(
            connection, auth.current_user(request), request.path_params["post_id"], slug_of(request)
        )
        badge = await waiting.review_badge(connection, found.place.actor)
    context = page_context(
        found.place, thread=found.thread, post=found.post, revisions=found.revisions, review_waiting=badge
    )
    return render(request, "forum/history.html", context)


async def react(request: Request) -> Response:
    form = await read_form(request)
    user = auth.current_user(request)
    post_id = request.path_params["post_id"]
    async with request.app.state.db.acquire() as connection:
        await reactions.do_toggle(connection, user, post_id, text(form, "kind", 20), slug=slug_of(request))
        url = await posts.locate(connection, user, post_id, slug_of(request))
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
            slug=slug_of(request),
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
            slug=slug_of(request),
            pinned=value if flag == "pin" else None,
            locked=value if flag == "lock" else None,
        )
    return redirect(f"/c/{thread.community_slug}/t/{thread.id}")


async def pin(request: Request) -> Response:
    return await _thread_flag(request, "pin")


async def lock(request: Request) -> Response:
    return await _thread_flag(request, "lock")


routes = [
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
]

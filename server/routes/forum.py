"""Forum pages: thread lists, threads, replies, edits, reactions, introductions, questions and the expert badge."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import auth, i18n
from server.actions import access, introductions, posts, questions, reactions, review, threads
from server.actions.threads import Place, ThreadView
from server.db.queries.posts import PostView
from server.db.queries.threads import ThreadRow
from server.errors import AppError, bad_request, returns_to_form
from server.i18n import _
from server.markdown import render_markdown
from server.routes.forms import read_form, redirect, text
from server.templating import render

# Member text is rendered once per distinct body and kept: a popular thread is read far more
# often than it is written, and the cache key is the text itself, so an edit can never show stale HTML.
CACHED_BODY_MAX = 8000


@lru_cache(maxsize=2048)
def _cached_markdown(body: str) -> str:
    return render_markdown(body)


def markdown(body: str) -> Markup:
    """Safe HTML for a post body (render_markdown is the only way member text becomes HTML)."""
    html = _cached_markdown(body) if len(body) <= CACHED_BODY_MAX else render_markdown(body)
    return Markup(html)  # noqa: S704 - sanitized by render_markdown


@lru_cache(maxsize=16_384)
def _formatted_time(value: datetime, language: str, time_zone: str) -> str:
    # The key holds everything format_time reads (the moment, the reader's language and zone), so a
    # cached string is always the one format_time would give now; Babel costs ~20 µs per call.
    return i18n.format_time(value)


def when(value: datetime | None) -> str:
    """`|localtime` for rows repeated on a page: the same text, cached."""
    if value is None:
        return ""
    return _formatted_time(value, i18n.current_language(), i18n.current_time_zone())


@lru_cache(maxsize=len(i18n.SUPPORTED_LANGUAGES) + 1)
def _labels(language: str) -> dict[str, str]:
    # gettext reads the request's language: caching under another language's key would be wrong.
    assert language == i18n.current_language(), (language, i18n.current_language())
    return {
        "leader": _("Leader"),
        "expert": _("Expert"),
        "edited": _("edited"),
        "accepted": _("Accepted answer"),
        "deleted": _("This post was deleted."),
        "removed": _("This post was hidden by a leader."),
        "hidden_by_leader": _("Hidden by a leader: only leaders see this text."),
        "hidden_reason": _("Reason: %(reason)s"),
        "hide": _("Hide…"),
        "unhide": _("Restore for everyone"),
        "approve": _("Approve"),
        "reject": _("Reject…"),
        "flag": _("Flag"),
        "review_flags": _("Review the flags"),
        "held": _("Waiting for review: only you and the community's leaders can see it until a leader approves it."),
        "in_reply_to": _("In reply to %(name)s"),
        "former": _("a former member"),
        "former_member": _("A former member"),
        "gone": _("That post is no longer available."),
        "helped_me": _("Helped me"),
        "thank_you": _("Thank you"),
        "counts": _("Helped: %(helped)d · Thanks: %(thanks)d"),
        "helped_by": _("It helped %(names)s"),
        "thanked_by": _("Thanked by %(names)s"),
        "quote": _("Quote"),
        "edit": _("Edit"),
        "delete": _("Delete"),
        "restore": _("Restore"),
        "accept": _("Accept this answer"),
        "unaccept": _("Unmark as the accepted answer"),
        "pinned": _("Pinned"),
        "locked": _("Locked"),
        "discussion": _("Discussion"),
        "introduction": _("Introduction"),
        "question": _("Question"),
        "answered": _("Answered"),
        "started_by": _("Started by %(name)s"),
        "started_by_former": _("Started by a former member"),
        "last_activity": _("Last activity"),
    }


def labels() -> dict[str, str]:
    """Words every row of a list or thread repeats, translated once per language rather than once per row
    (Jinja's gettext costs several microseconds a call; a 50-post page would make hundreds)."""
    return _labels(i18n.current_language())


def replies(count: int) -> str:
    return i18n.ngettext("%(num)d reply", "%(num)d replies", count) % {"num": count}


class PostKey(NamedTuple):
    """Everything a post's HTML shows, for one kind of reader: the cache key of that HTML.

    The reader-dependent parts are reduced to a few flags (their own post? may they react, reply,
    accept?) and their reaction; the CSRF token is not among them because the post's buttons submit
    one page-level form (form="post-actions") that carries it. A named tuple rather than a frozen
    dataclass: 50 keys are built, hashed and compared per page, and a tuple does that several times faster.
    """

    id: int
    thread_id: int
    author_username: str | None
    author_display_name: str | None
    author_is_expert: bool
    author_is_leader: bool
    body_md: str
    state: str
    created_at: datetime
    edited_at: datetime | None
    reply_to_post_id: int | None
    quote_author: str | None
    quote_excerpt: str | None
    helped_count: int
    thanks_count: int
    helped_by: tuple[str, ...]
    thanks_by: tuple[str, ...]
    slug: str
    accepted: bool
    is_first: bool
    own: bool
    my_reaction: str | None
    can_react: bool
    can_reply: bool
    can_accept: bool
    after: int
    language: str
    time_zone: str
    # Leaders' tools: the reason a post was hidden, whether this reader moderates here and outranks
    # the author (hide/restore), and whether they may flag it.
    state_reason: str = ""
    moderates: bool = False
    can_hide: bool = False
    can_flag: bool = False


# Bounded memory: at most 4096 fragments of posts up to 3000 characters (each key holds its body and
# the value its HTML), a few tens of MB at worst; longer posts are rendered on every view.
POST_CACHE_BODY_MAX = 3000


@lru_cache(maxsize=4096)
def _cached_post(env: jinja2.Environment, key: PostKey) -> Markup:
    return _render_post(env, key)


def _render_post(env: jinja2.Environment, key: PostKey) -> Markup:
    # The fragment sees only the key (and labels and times that the key's language and zone decide).
    html = env.get_template("forum/_post.html").render(p=key, L=_labels(key.language), when=when, md=markdown)
    return Markup(html)  # noqa: S704 - rendered by an autoescaping template


def post_html(request: Request, view: ThreadView, after: int) -> Callable[[PostView], Markup]:
    """A post of the thread page as HTML, rendered once per version of the post and kind of reader.

    A thread page is read far more often than its posts change; rendering each post's 40-odd
    escaped values on every view was most of a 50-post page's cost (bench/pages.py).
    """
    env: jinja2.Environment = request.app.state.templates.env
    slug = view.place.community.slug
    thread = view.thread
    viewer = view.place.actor.user
    can_reply = view.can_reply
    can_accept = view.can_accept
    language, time_zone = i18n.current_language(), i18n.current_time_zone()
    actor = view.place.actor
    moderates = actor.can_moderate
    may_flag = access.can_write(actor, view.place.community)

    def render_one(post: PostView) -> Markup:
        own = viewer is not None and post.author_id == viewer.id
        author_rank = access.rank_of(is_admin=post.author_is_admin, is_leader=post.author_is_leader)
        key = PostKey(
            id=post.id,
            thread_id=thread.id,
            author_username=post.author_username,
            author_display_name=post.author_display_name,
            author_is_expert=post.author_is_expert,
            author_is_leader=post.author_is_leader,
            body_md=post.body_md,
            state=post.state,
            created_at=post.created_at,
            edited_at=post.edited_at,
            reply_to_post_id=post.reply_to_post_id,
            quote_author=post.quote_author,
            quote_excerpt=post.quote_excerpt,
            helped_count=post.helped_count,
            thanks_count=post.thanks_count,
            helped_by=tuple(post.helped_by),
            thanks_by=tuple(post.thanks_by),
            slug=slug,
            accepted=thread.kind == "question" and post.id == thread.accepted_post_id and post.state == "visible",
            is_first=post.id == view.first_post_id,
            own=own,
            my_reaction=post.my_reaction,
            can_react=can_reply and not own,
            can_reply=can_reply,
            can_accept=can_accept,
            after=after,
            language=language,
            time_zone=time_zone,
            state_reason=post.state_reason,
            moderates=moderates,
            can_hide=not own and access.can_moderate_author(actor, author_rank),
            can_flag=may_flag and not own and post.state == "visible",
        )
        if len(post.body_md) > POST_CACHE_BODY_MAX:
            return _render_post(env, key)
        return _cached_post(env, key)

    return render_one


def posts_html(request: Request, view: ThreadView, after: int) -> Markup:
    """All the posts of a thread page as one fragment (a template calling post_html 50 times costs more)."""
    render_one = post_html(request, view, after)
    return Markup("\n".join([render_one(post) for post in view.posts]))  # noqa: S704 - each part is Markup


@lru_cache(maxsize=4096)
def _cached_row(env: jinja2.Environment, row: ThreadRow, slug: str, language: str, time_zone: str) -> Markup:
    # Like a post's content: the key (the row's every field, the community, the language and zone)
    # decides everything the fragment shows.
    html = env.get_template("forum/_thread_row.html").render(
        row=row, slug=slug, L=_labels(language), when=when, replies=replies
    )
    return Markup(html)  # noqa: S704 - rendered by an autoescaping template


def thread_row(request: Request, slug: str) -> Callable[[ThreadRow], Markup]:
    """One row of a thread list as HTML, rendered once per version of the row."""
    env: jinja2.Environment = request.app.state.templates.env
    language, time_zone = i18n.current_language(), i18n.current_time_zone()

    def render_one(row: ThreadRow) -> Markup:
        return _cached_row(env, row, slug, language, time_zone)

    return render_one


def thread_rows(request: Request, slug: str, rows: Sequence[ThreadRow]) -> Markup:
    """The rows of a thread list as one fragment (a template calling thread_row 30 times costs more)."""
    render_one = thread_row(request, slug)
    return Markup("".join([render_one(row) for row in rows]))  # noqa: S704 - each part is Markup


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
        "md": markdown,
        "when": when,
        "L": labels(),
        "replies": replies,
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
        row_html=thread_row(request, place.community.slug),
        rows_html=thread_rows(request, place.community.slug, listing.rows),
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
        row_html=thread_row(request, place.community.slug),
        rows_html=thread_rows(request, place.community.slug, listing.rows),
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
        row_html=thread_row(request, place.community.slug),
        rows_html=thread_rows(request, place.community.slug, listing.rows),
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
        posts_html=posts_html(request, view, after),
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

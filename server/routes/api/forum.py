"""JSON API for the forum, search and notifications (under /api/v1), declared with their OpenAPI operations."""

from __future__ import annotations

from datetime import datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from server import auth
from server.actions import introductions, notifications, posts, questions, reactions, search, threads
from server.db.queries.posts import PostView
from server.db.queries.reactions import Counts
from server.db.queries.threads import Thread, ThreadRow
from server.errors import bad_request
from server.i18n import _
from server.presentation import markdown
from server.routes.api.support import api_route, json_response, read_json

# --- Schemas ------------------------------------------------------------------------------


class ForumAuthor(msgspec.Struct):
    username: str
    display_name: str


class ForumThreadSummary(msgspec.Struct):
    id: int
    kind: str
    title: str
    pinned: bool
    locked: bool
    reply_count: int
    accepted_post_id: int | None
    created_at: datetime
    last_activity_at: datetime
    author: ForumAuthor | None
    url: str


class ForumThreadList(msgspec.Struct):
    community: str
    members_only: bool
    threads: list[ForumThreadSummary]
    next_cursor: str | None
    count: int | None = None  # set instead of threads for a members-only forum seen from outside


class ForumNewThread(msgspec.Struct, forbid_unknown_fields=True):
    title: str = ""
    body: str = ""
    kind: str = "discussion"
    intro: dict[str, str] | None = None


class ForumCreated(msgspec.Struct):
    thread_id: int
    post_id: int
    url: str


class ForumThreadDetail(msgspec.Struct):
    id: int
    community: str
    kind: str
    title: str
    pinned: bool
    locked: bool
    reply_count: int
    accepted_post_id: int | None
    intro: dict[str, str] | None
    created_at: datetime
    last_activity_at: datetime
    url: str


class ForumQuote(msgspec.Struct):
    post_id: int
    author: str | None
    excerpt: str | None


class ForumReactions(msgspec.Struct):
    helped: int
    thanks: int
    mine: str | None
    helped_by: list[str] = []
    thanks_by: list[str] = []


class ForumPost(msgspec.Struct):
    id: int
    author: ForumAuthor | None
    author_badges: list[str]
    state: str
    body_md: str | None
    body_html: str | None
    created_at: datetime
    edited_at: datetime | None
    revision_count: int
    reply_to: ForumQuote | None
    reactions: ForumReactions


class ForumThreadPage(msgspec.Struct):
    thread: ForumThreadDetail
    posts: list[ForumPost]
    next_after: int | None


class ForumReply(msgspec.Struct, forbid_unknown_fields=True):
    body: str
    reply_to_post_id: int | None = None


class ForumPostCreated(msgspec.Struct):
    post_id: int
    thread_id: int
    url: str


class ForumEdit(msgspec.Struct, forbid_unknown_fields=True):
    body: str


class ForumPostState(msgspec.Struct):
    id: int
    state: str


class ForumReactionChoice(msgspec.Struct, forbid_unknown_fields=True):
    kind: str


class ForumAccept(msgspec.Struct, forbid_unknown_fields=True):
    post_id: int | None


class ForumAccepted(msgspec.Struct):
    thread_id: int
    accepted_post_id: int | None


class SearchResult(msgspec.Struct):
    post_id: int
    thread_id: int
    thread_kind: str
    title_html: str
    snippet_html: str
    community: str
    community_name: str
    author: str | None
    created_at: datetime
    url: str


class SearchResults(msgspec.Struct):
    query: str
    community: str | None
    page: int
    has_more: bool
    results: list[SearchResult]


class NotificationItem(msgspec.Struct):
    id: int
    kind: str
    text: str
    url: str
    read: bool
    created_at: datetime
    thread_id: int | None
    post_id: int | None
    community: str | None


class NotificationList(msgspec.Struct):
    notifications: list[NotificationItem]
    unread: int
    next_before: int | None


class NotificationsRead(msgspec.Struct, forbid_unknown_fields=True):
    ids: list[int] | None = None
    all: bool = False


class NotificationsMarked(msgspec.Struct):
    marked: int
    unread: int


# --- Converters ---------------------------------------------------------------------------


def _author(username: str | None, display_name: str | None) -> ForumAuthor | None:
    return ForumAuthor(username, display_name or username) if username else None


def _summary(slug: str, row: ThreadRow) -> ForumThreadSummary:
    return ForumThreadSummary(
        id=row.id,
        kind=row.kind,
        title=row.title,
        pinned=row.pinned,
        locked=row.locked,
        reply_count=row.reply_count,
        accepted_post_id=row.accepted_post_id,
        created_at=row.created_at,
        last_activity_at=row.last_activity_at,
        author=_author(row.author_username, row.author_display_name),
        url=f"/c/{slug}/t/{row.id}",
    )


def _detail(thread: Thread) -> ForumThreadDetail:
    return ForumThreadDetail(
        id=thread.id,
        community=thread.community_slug,
        kind=thread.kind,
        title=thread.title,
        pinned=thread.pinned,
        locked=thread.locked,
        reply_count=thread.reply_count,
        accepted_post_id=thread.accepted_post_id,
        intro={str(key): str(value) for key, value in thread.intro.items()} if thread.intro else None,
        created_at=thread.created_at,
        last_activity_at=thread.last_activity_at,
        url=f"/c/{thread.community_slug}/t/{thread.id}",
    )


def _post(row: PostView) -> ForumPost:
    shown = row.state in {"visible", "held"}
    badges = [name for name, has in (("leader", row.author_is_leader), ("expert", row.author_is_expert)) if has]
    return ForumPost(
        id=row.id,
        author=_author(row.author_username, row.author_display_name),
        author_badges=badges,
        state=row.state,
        body_md=row.body_md if shown else None,
        body_html=markdown.html(row.body_md, below=0) if shown else None,
        created_at=row.created_at,
        edited_at=row.edited_at,
        revision_count=row.revision_count,
        reply_to=ForumQuote(row.reply_to_post_id, row.quote_author, row.quote_excerpt)
        if row.reply_to_post_id
        else None,
        reactions=ForumReactions(row.helped_count, row.thanks_count, row.my_reaction, row.helped_by, row.thanks_by),
    )


def _counts(counts: Counts) -> ForumReactions:
    return ForumReactions(counts.helped, counts.thanks, counts.mine)


def _int_query(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise bad_request(_("%(name)s must be a whole number.") % {"name": name}, name)
    return int(raw)


# --- Endpoints ----------------------------------------------------------------------------


async def list_threads(request: Request) -> Response:
    kind = request.query_params.get("kind") or None
    async with request.app.state.db.acquire() as connection:
        place = await threads.open_community(connection, auth.current_user(request), request.path_params["slug"])
        listing = await threads.list_threads(
            connection,
            place,
            kind=kind,
            unanswered=request.query_params.get("open") == "1",
            cursor=request.query_params.get("cursor"),
        )
    slug = place.community.slug
    return json_response(
        ForumThreadList(
            community=slug,
            members_only=place.members_only,
            threads=[_summary(slug, row) for row in listing.rows],
            next_cursor=listing.next_cursor,
            count=listing.hidden_count,
        )
    )


async def create_thread(request: Request) -> Response:
    body = await read_json(request, ForumNewThread)
    async with request.app.state.db.acquire() as connection:
        place = await threads.open_community(connection, auth.current_user(request), request.path_params["slug"])
        if body.kind == "introduction":
            started = await introductions.do_introduce(
                connection,
                request.app.state.limiter,
                place,
                fields=body.intro or {},
                free_text=body.body,
                title=body.title,
            )
        else:
            if body.intro is not None:
                raise bad_request(_("Only introductions have introduction fields."), "intro")
            started = await threads.do_create_thread(
                connection, request.app.state.limiter, place, title=body.title, body=body.body, kind=body.kind
            )
    url = f"/c/{place.community.slug}/t/{started.thread_id}"
    return json_response(ForumCreated(started.thread_id, started.post_id, url), status=201, headers={"location": url})


async def get_thread(request: Request) -> Response:
    after = _int_query(request, "after") or 0
    async with request.app.state.db.acquire() as connection:
        view = await threads.view_thread(
            connection, auth.current_user(request), request.path_params["thread_id"], after=after
        )
    return json_response(ForumThreadPage(_detail(view.thread), [_post(row) for row in view.posts], view.next_after))


async def reply(request: Request) -> Response:
    body = await read_json(request, ForumReply)
    async with request.app.state.db.acquire() as connection:
        done = await posts.do_reply(
            connection,
            request.app.state.limiter,
            auth.current_user(request),
            request.path_params["thread_id"],
            body=body.body,
            reply_to_post_id=body.reply_to_post_id,
        )
    url = f"/c/{done.thread.community_slug}/posts/{done.post.id}"
    return json_response(ForumPostCreated(done.post.id, done.thread.id, url), status=201, headers={"location": url})


async def edit_post(request: Request) -> Response:
    body = await read_json(request, ForumEdit)
    async with request.app.state.db.acquire() as connection:
        own = await posts.do_edit(
            connection, auth.current_user(request), request.path_params["post_id"], body=body.body
        )
    return json_response(ForumPostState(own.post.id, own.post.state))


async def delete_post(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        own = await posts.do_delete(connection, auth.current_user(request), request.path_params["post_id"])
    return json_response(ForumPostState(own.post.id, "deleted"))


async def react(request: Request) -> Response:
    body = await read_json(request, ForumReactionChoice)
    async with request.app.state.db.acquire() as connection:
        counts = await reactions.do_set(
            connection, auth.current_user(request), request.path_params["post_id"], body.kind
        )
    return json_response(_counts(counts))


async def unreact(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        counts = await reactions.do_remove(connection, auth.current_user(request), request.path_params["post_id"])
    return json_response(_counts(counts))


async def accept(request: Request) -> Response:
    body = await read_json(request, ForumAccept)
    async with request.app.state.db.acquire() as connection:
        thread = await questions.do_accept(
            connection, auth.current_user(request), request.path_params["thread_id"], body.post_id
        )
    return json_response(ForumAccepted(thread.id, thread.accepted_post_id))


async def search_posts(request: Request) -> Response:
    page = _int_query(request, "page") or 1
    async with request.app.state.db.acquire() as connection:
        found = await search.do_search(
            connection,
            auth.current_user(request),
            request.query_params.get("q", "")[:1000],
            community=request.query_params.get("community", "")[:100],
            page=page,
        )
    return json_response(
        SearchResults(
            query=found.query,
            community=found.community_slug,
            page=found.page,
            has_more=found.has_more,
            results=[
                SearchResult(
                    post_id=result.hit.post_id,
                    thread_id=result.hit.thread_id,
                    thread_kind=result.hit.thread_kind,
                    title_html=str(result.title),
                    snippet_html=str(result.snippet),
                    community=result.hit.community_slug,
                    community_name=result.hit.community_name,
                    author=result.hit.author_display_name,
                    created_at=result.hit.created_at,
                    url=result.url,
                )
                for result in found.results
            ],
        )
    )


async def list_notifications(request: Request) -> Response:
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        page = await notifications.page_for(connection, user, before=request.query_params.get("before"))
        assert user is not None
        unread = await notifications.unread_count(connection, user.id)
    items = [
        NotificationItem(
            id=item.notification.id,
            kind=item.notification.kind,
            text=item.text,
            url=item.url,
            read=item.notification.read_at is not None,
            created_at=item.notification.created_at,
            thread_id=item.notification.thread_id,
            post_id=item.notification.post_id,
            community=item.notification.community_slug,
        )
        for item in page.items
    ]
    return json_response(NotificationList(items, unread, page.next_before))


async def mark_read(request: Request) -> Response:
    body = await read_json(request, NotificationsRead)
    if body.all == (body.ids is not None):
        raise bad_request(_('Send either "ids": [...] or "all": true.'), "ids")
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        marked = await notifications.do_mark_read(connection, user, None if body.all else body.ids)
        assert user is not None
        unread = await notifications.unread_count(connection, user.id)
    return json_response(NotificationsMarked(marked, unread))


_NOT_FOUND = "No such thing, or it is not visible to you."
_REFUSED = "Not a member in good standing of this community (banned or muted), or not yours."

routes = [
    api_route(
        "/api/v1/communities/{slug}/threads",
        list_threads,
        summary="A page of a community's threads (pinned first, then by last activity)",
        description=(
            "Query: cursor (from next_cursor), kind (discussion, introduction, question), open=1 (questions "
            "without an accepted answer). A members-only forum seen by a non-member gives only `count`."
        ),
        responses={200: ("Threads and the cursor of the next page", ForumThreadList), 404: "No such community."},
        tags=["forum"],
    ),
    api_route(
        "/api/v1/communities/{slug}/threads",
        create_thread,
        methods=["POST"],
        summary="Start a thread (discussion, question, or introduction with optional intro fields)",
        request_body=ForumNewThread,
        responses={
            201: ("The new thread", ForumCreated),
            403: _REFUSED,
            404: "No such community.",
            429: "Posting too fast.",
        },
        sign_in=True,
        tags=["forum"],
    ),
    api_route(
        "/api/v1/threads/{thread_id:int}",
        get_thread,
        summary="A thread and a page of its posts (query: after = the last post id seen)",
        responses={200: ("The thread and up to 50 posts", ForumThreadPage), 404: _NOT_FOUND},
        tags=["forum"],
    ),
    api_route(
        "/api/v1/threads/{thread_id:int}/posts",
        reply,
        methods=["POST"],
        summary="Reply in a thread (optionally to one of its posts)",
        request_body=ForumReply,
        responses={
            201: ("The new post", ForumPostCreated),
            403: _REFUSED,
            404: _NOT_FOUND,
            409: "The thread is locked.",
            429: "Posting too fast.",
        },
        sign_in=True,
        tags=["forum"],
    ),
    api_route(
        "/api/v1/posts/{post_id:int}",
        edit_post,
        methods=["PATCH"],
        summary="Edit your own post (the previous text is kept in its history)",
        request_body=ForumEdit,
        responses={
            200: ("The post", ForumPostState),
            403: _REFUSED,
            404: _NOT_FOUND,
            409: "It can no longer be edited.",
        },
        sign_in=True,
        tags=["forum"],
    ),
    api_route(
        "/api/v1/posts/{post_id:int}",
        delete_post,
        methods=["DELETE"],
        summary="Delete your own post (it shows as deleted and is kept for moderation)",
        responses={200: ("The post", ForumPostState), 403: _REFUSED, 404: _NOT_FOUND, 409: "Already deleted."},
        sign_in=True,
        tags=["forum"],
    ),
    api_route(
        "/api/v1/posts/{post_id:int}/reaction",
        react,
        methods=["POST"],
        summary="Set your reaction to a post: helped or thanks (one per member per post)",
        request_body=ForumReactionChoice,
        responses={200: ("The post's reaction counts", ForumReactions), 403: _REFUSED, 404: _NOT_FOUND},
        sign_in=True,
        tags=["forum"],
    ),
    api_route(
        "/api/v1/posts/{post_id:int}/reaction",
        unreact,
        methods=["DELETE"],
        summary="Remove your reaction to a post",
        responses={200: ("The post's reaction counts", ForumReactions), 403: _REFUSED, 404: _NOT_FOUND},
        sign_in=True,
        tags=["forum"],
    ),
    api_route(
        "/api/v1/threads/{thread_id:int}/accept",
        accept,
        methods=["POST"],
        summary="Accept one answer to a question (post_id null clears it): the asker or a leader",
        request_body=ForumAccept,
        responses={
            200: ("The question's accepted answer", ForumAccepted),
            403: "Not the asker or a leader.",
            404: _NOT_FOUND,
        },
        sign_in=True,
        tags=["forum"],
    ),
    api_route(
        "/api/v1/search",
        search_posts,
        summary="Ranked full-text search of the forums you may read (query: q, community, page)",
        responses={
            200: ("Results with highlighted snippets (safe HTML: only <mark>)", SearchResults),
            404: "No such community.",
        },
        tags=["search"],
    ),
    api_route(
        "/api/v1/notifications",
        list_notifications,
        summary="Your notifications, newest first (query: before = next_before)",
        responses={200: ("A page of notifications and the unread count", NotificationList)},
        sign_in=True,
        tags=["notifications"],
    ),
    api_route(
        "/api/v1/notifications/read",
        mark_read,
        methods=["POST"],
        summary='Mark notifications read: {"ids": [...]} or {"all": true}',
        request_body=NotificationsRead,
        responses={200: ("How many were marked, and what is left unread", NotificationsMarked)},
        sign_in=True,
        tags=["notifications"],
    ),
]

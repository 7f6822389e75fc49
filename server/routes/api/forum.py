"""JSON API for the forum: threads, posts, replies, edits, reactions and accepted answers (under /api/v1)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server import auth
from server.actions import introductions, posts, questions, reactions, threads
from server.errors import bad_request
from server.i18n import _
from server.routes.api.forum_schemas import (
    ForumAccept,
    ForumAccepted,
    ForumCreated,
    ForumEdit,
    ForumNewThread,
    ForumPostCreated,
    ForumPostState,
    ForumReactionChoice,
    ForumReactions,
    ForumReply,
    ForumThreadList,
    ForumThreadPage,
    detail,
    post,
    reactions_out,
    summary,
)
from server.routes.api.support import api_route, int_query, json_response, read_json

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
            threads=[summary(slug, row) for row in listing.rows],
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
                audience=body.audience,
            )
        else:
            if body.intro is not None:
                raise bad_request(_("Only introductions have introduction fields."), "intro")
            started = await threads.do_create_thread(
                connection,
                request.app.state.limiter,
                place,
                title=body.title,
                body=body.body,
                kind=body.kind,
                audience=body.audience,
            )
    url = f"/c/{place.community.slug}/t/{started.thread_id}"
    return json_response(ForumCreated(started.thread_id, started.post_id, url), status=201, headers={"location": url})


async def get_thread(request: Request) -> Response:
    after = int_query(request, "after") or 0
    async with request.app.state.db.acquire() as connection:
        view = await threads.view_thread(
            connection, auth.current_user(request), request.path_params["thread_id"], after=after
        )
    return json_response(ForumThreadPage(detail(view.thread), [post(row) for row in view.posts], view.next_after))


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
            audience=body.audience,
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
    return json_response(reactions_out(counts))


async def unreact(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        counts = await reactions.do_remove(connection, auth.current_user(request), request.path_params["post_id"])
    return json_response(reactions_out(counts))


async def accept(request: Request) -> Response:
    body = await read_json(request, ForumAccept)
    async with request.app.state.db.acquire() as connection:
        thread = await questions.do_accept(
            connection, auth.current_user(request), request.path_params["thread_id"], body.post_id
        )
    return json_response(ForumAccepted(thread.id, thread.accepted_post_id))


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
]

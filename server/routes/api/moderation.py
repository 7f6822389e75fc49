"""JSON API for leaders' moderation of forum content: hide and restore a post, pin and lock a thread."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from server import auth
from server.actions import thread_moderation, threads
from server.routes.api.support import api_route, json_response, read_json


class HidePost(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


class ModeratedPost(msgspec.Struct):
    id: int
    state: str


class ThreadFlags(msgspec.Struct, forbid_unknown_fields=True):
    pinned: bool | None = None
    locked: bool | None = None


class ThreadFlagsState(msgspec.Struct):
    id: int
    pinned: bool
    locked: bool


async def hide_post(request: Request) -> Response:
    body = await read_json(request, HidePost)
    post_id = request.path_params["post_id"]
    async with request.app.state.db.acquire() as connection:
        actor = await thread_moderation.actor_for_post(connection, auth.current_user(request), post_id)
        await thread_moderation.do_hide_post(connection, actor, post_id, reason=body.reason)
    return json_response(ModeratedPost(post_id, "hidden"))


async def restore_post(request: Request) -> Response:
    post_id = request.path_params["post_id"]
    async with request.app.state.db.acquire() as connection:
        actor = await thread_moderation.actor_for_post(connection, auth.current_user(request), post_id)
        await thread_moderation.do_restore_post(connection, actor, post_id)
    return json_response(ModeratedPost(post_id, "visible"))


async def set_thread_flags(request: Request) -> Response:
    body = await read_json(request, ThreadFlags)
    async with request.app.state.db.acquire() as connection:
        thread = await threads.do_set_thread_flags(
            connection,
            auth.current_user(request),
            request.path_params["thread_id"],
            pinned=body.pinned,
            locked=body.locked,
        )
    return json_response(ThreadFlagsState(thread.id, thread.pinned, thread.locked))


_NOT_FOUND = "No such thing, or it is not visible to you."
_NOT_LEADER = "Not a leader of this community (or one who does not outrank the author)."

routes = [
    api_route(
        "/api/v1/posts/{post_id:int}/hide",
        hide_post,
        methods=["POST"],
        summary="Hide a visible post, with a reason its author is told: this community's leaders and site admins",
        request_body=HidePost,
        responses={
            200: ("The post", ModeratedPost),
            400: "A reason is needed.",
            403: _NOT_LEADER,
            404: _NOT_FOUND,
            409: "Only a visible post can be hidden.",
        },
        sign_in=True,
        tags=["moderation"],
    ),
    api_route(
        "/api/v1/posts/{post_id:int}/restore",
        restore_post,
        methods=["POST"],
        summary="Show a post a leader hid again: this community's leaders and site admins",
        responses={
            200: ("The post", ModeratedPost),
            403: _NOT_LEADER,
            404: _NOT_FOUND,
            409: "Only a hidden post can be restored.",
        },
        sign_in=True,
        tags=["moderation"],
    ),
    api_route(
        "/api/v1/threads/{thread_id:int}/flags",
        set_thread_flags,
        methods=["POST"],
        summary="Pin or unpin, lock or unlock a thread (fields left out are unchanged): leaders and site admins",
        request_body=ThreadFlags,
        responses={200: ("The thread's flags", ThreadFlagsState), 403: _NOT_LEADER, 404: _NOT_FOUND},
        sign_in=True,
        tags=["moderation"],
    ),
]

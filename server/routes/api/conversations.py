"""JSON API for private conversations (under /api/v1/conversations): one's own conversations, their messages, send, block, report."""

from __future__ import annotations

from datetime import datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from server import auth
from server.actions import conversations
from server.routes.api.support import api_route, int_query, json_response, read_json


class ConversationOut(msgspec.Struct):
    id: int
    community: str
    other_name: str
    topic: str  # the websocket room of its live frames (docs/protocol.md)
    last_seq: int
    unread: int  # messages since the member last had it open (a join, this API's messages, or a `read` frame)


class MessageOut(msgspec.Struct):
    seq: int
    author_id: int | None  # as frames know the author (minus an alias under a pseudonym)
    author_name: str
    body: str
    created_at: datetime
    client_id: str


class MessagesOut(msgspec.Struct):
    epoch: str
    head_seq: int
    messages: list[MessageOut]


class SendIn(msgspec.Struct, forbid_unknown_fields=True):
    client_id: str
    body: str


class SentOut(msgspec.Struct):
    seq: int
    created_at: datetime
    duplicate: bool


class ReportIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


async def list_conversations(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        mine = await conversations.mine(connection, auth.current_user(request))
    return json_response(
        [
            ConversationOut(c.id, c.community_slug, c.other_name, conversations.topic_of(c.id), c.last_seq, c.unread)
            for c in mine
        ]
    )


async def messages(request: Request) -> Response:
    since = int_query(request, "since")
    async with request.app.state.db.acquire() as connection:
        found = await conversations.replay(
            connection, auth.current_user(request), request.path_params["conversation_id"], since=since, epoch=None
        )
    return json_response(
        MessagesOut(
            found.epoch,
            found.head_seq,
            [
                MessageOut(m.seq, m.shown_author_id, m.author_display_name, m.body, m.created_at, m.client_msg_id)
                for m in found.history
            ],
        )
    )


async def send(request: Request) -> Response:
    body = await read_json(request, SendIn)
    async with request.app.state.db.acquire() as connection:
        sent = await conversations.do_send(
            connection,
            request.app.state.limiter,
            auth.current_user(request),
            request.path_params["conversation_id"],
            client_msg_id=body.client_id,
            body=body.body,
        )
    return json_response(
        SentOut(sent.message.seq, sent.message.created_at, sent.duplicate), status=200 if sent.duplicate else 201
    )


async def report(request: Request) -> Response:
    body = await read_json(request, ReportIn)
    async with request.app.state.db.acquire() as connection:
        await conversations.do_report(
            connection, auth.current_user(request), request.path_params["conversation_id"], body.reason
        )
    return Response(status_code=204)


async def block(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        await conversations.do_block(connection, auth.current_user(request), request.path_params["conversation_id"])
    return Response(status_code=204)


_ONE = "/api/v1/conversations/{conversation_id:int}"
_NOT_YOURS = "No such conversation (to anyone but its two participants, leaders and site admins included)."

routes = [
    api_route(
        "/api/v1/conversations",
        list_conversations,
        summary="My open private conversations, in every community",
        responses={200: ("The conversations", list[ConversationOut]), 401: "Log in first."},
        sign_in=True,
        tags=["conversations"],
    ),
    api_route(
        _ONE + "/messages",
        messages,
        summary="A conversation's latest messages, or every one after ?since=<seq>: its two participants only",
        responses={200: ("The messages", MessagesOut), 404: _NOT_YOURS},
        sign_in=True,
        tags=["conversations"],
    ),
    api_route(
        _ONE + "/messages",
        send,
        methods=["POST"],
        summary="Send a message; the same client_id again answers with the stored one (200) instead of a new one (201)",
        request_body=SendIn,
        responses={201: ("Stored", SentOut), 200: ("Already stored", SentOut), 404: _NOT_YOURS},
        sign_in=True,
        tags=["conversations"],
    ),
    api_route(
        _ONE + "/report",
        report,
        methods=["POST"],
        summary="Report the conversation to site admins (not leaders): they read the messages sent until now",
        request_body=ReportIn,
        responses={204: "Reported.", 400: "A reason is needed.", 404: _NOT_YOURS},
        sign_in=True,
        tags=["conversations"],
    ),
    api_route(
        _ONE + "/block",
        block,
        methods=["POST"],
        summary="Block the other participant: the conversation ends both ways and they cannot ask again",
        responses={204: "Blocked.", 404: _NOT_YOURS},
        sign_in=True,
        tags=["conversations"],
    ),
]

"""JSON API for a member's notifications and read marks (under /api/v1)."""

from __future__ import annotations

from datetime import datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from server import auth
from server.actions import notifications
from server.errors import bad_request
from server.i18n import _
from server.routes.api.support import RowId, api_route, json_response, read_json


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
    ids: list[RowId] | None = None
    all: bool = False


class NotificationsMarked(msgspec.Struct):
    marked: int
    unread: int


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


routes = [
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

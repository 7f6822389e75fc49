"""JSON API for ranked site-wide search of what the reader may read, grouped by kind (under /api/v1)."""

from __future__ import annotations

from datetime import datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from server import auth
from server.actions import search
from server.routes.api.support import api_route, int_query, json_response


class SearchResult(msgspec.Struct):
    """kind: section (a condition page), thread (one per thread: its best matching post), tip, resource or
    message (live-room chat); post_id, thread_id and thread_kind are given for threads only."""

    kind: str
    post_id: int | None
    thread_id: int | None
    thread_kind: str | None
    title_html: str
    snippet_html: str
    community: str
    community_name: str
    author: str | None
    created_at: datetime
    url: str


class SearchGroup(msgspec.Struct):
    kind: str
    label: str
    count: int
    has_more: bool


class SearchResults(msgspec.Struct):
    """results: grouped by kind (in the order of groups), best first within each; without `kind`, the first
    few of every kind that has any; with `kind`, that kind only, 20 per page."""

    query: str
    community: str | None
    kind: str | None
    page: int
    has_more: bool
    groups: list[SearchGroup]
    results: list[SearchResult]


async def search_posts(request: Request) -> Response:
    page = int_query(request, "page") or 1
    async with request.app.state.db.acquire() as connection:
        found = await search.do_search(
            connection,
            auth.current_user(request),
            request.query_params.get("q", "")[:1000],
            community=request.query_params.get("community", "")[:100],
            page=page,
            kind=request.query_params.get("kind", "")[:20],
        )
    return json_response(
        SearchResults(
            query=found.query,
            community=found.community_slug,
            kind=found.kind,
            page=found.page,
            has_more=found.has_more,
            groups=[SearchGroup(g.kind, g.label, len(g.results), g.has_more) for g in found.groups],
            results=[
                SearchResult(
                    kind=result.hit.kind,
                    post_id=result.hit.post_id,
                    thread_id=result.hit.thread_id,
                    thread_kind=result.hit.thread_kind,
                    title_html=str(result.heading),
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


routes = [
    api_route(
        "/api/v1/search",
        search_posts,
        summary="Ranked search of condition pages, threads, tips, resources and live rooms you may read",
        description=(
            "Query parameters: q (web-search syntax: quotes, a minus sign; accents and case aside), community "
            "(a slug), kind (section, thread, tip, resource or message: that kind only, with pages), page."
        ),
        responses={
            200: ("Results with highlighted snippets (safe HTML: only <mark>)", SearchResults),
            400: "The query is too long, or an unknown kind or page.",
            404: "No such community.",
        },
        tags=["search"],
    ),
]

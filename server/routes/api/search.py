"""JSON API for ranked full-text search of the forums the reader may read (under /api/v1)."""

from __future__ import annotations

from datetime import datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from server import auth
from server.actions import search
from server.routes.api.support import api_route, int_query, json_response


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


async def search_posts(request: Request) -> Response:
    page = int_query(request, "page") or 1
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


routes = [
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
]

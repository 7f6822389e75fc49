"""The search page: /search?q=&community=&kind= across everything the reader may see, grouped by kind."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import auth
from server.actions import search
from server.errors import AppError, returns_to_form
from server.templating import render


def page_number(raw: str) -> int:
    return int(raw) if raw.isdigit() and len(raw) < 4 else 0


async def search_page(request: Request) -> Response:
    query = request.query_params.get("q", "")[:1000]
    community = request.query_params.get("community", "")[:100]
    page = page_number(request.query_params.get("page", "1") or "1")
    kind = request.query_params.get("kind", "")[:20]
    try:
        async with request.app.state.db.acquire() as connection:
            results = await search.do_search(
                connection, auth.current_user(request), query, community=community, page=page, kind=kind
            )
    except AppError as error:
        if not returns_to_form(error):
            raise
        # A bad query keeps what was typed in the box, with the reason next to it.
        failed = {"query": query, "community": community, "kind": "", "results": None, "error": error.message}
        return render(request, "search.html", failed, status=error.status)
    context: dict[str, object] = {
        "query": query,
        "community": community,
        "kind": results.kind or "",
        "results": results,
        "error": None,
    }
    return render(request, "search.html", context)


routes = [Route("/search", search_page, methods=["GET"])]

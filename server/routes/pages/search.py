"""The search page: /search?q=&community= across the forums the reader may see."""

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
    try:
        async with request.app.state.db.acquire() as connection:
            results = await search.do_search(
                connection, auth.current_user(request), query, community=community, page=page
            )
    except AppError as error:
        if not returns_to_form(error):
            raise
        # A bad query keeps what was typed in the box, with the reason next to it.
        context = {"query": query, "community": community, "results": None, "error": error.message}
        return render(request, "search.html", context, status=error.status)
    return render(request, "search.html", {"query": query, "community": community, "results": results, "error": None})


routes = [Route("/search", search_page, methods=["GET"])]

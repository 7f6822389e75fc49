"""HTML pages: the home directory."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.db.queries import communities
from server.templating import render


async def home(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        rows = await communities.list_active(connection)
    return render(request, "home.html", {"communities": rows})


routes = [Route("/", home, methods=["GET"], name="home")]

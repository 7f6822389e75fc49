"""HTML pages that belong to no single concept (the home directory moved to server/routes/communities.py)."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []

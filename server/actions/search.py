"""Forum search: checks the words, limits it to what the reader may see, and makes safe highlighted snippets."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from markupsafe import Markup, escape

from server.actions.threads import open_community
from server.db.queries import search
from server.db.queries.search import MARK_END, MARK_START, Hit
from server.db.queries.users import User
from server.errors import bad_request
from server.i18n import _

PAGE_SIZE = 20
MAX_PAGES = 10
QUERY_MAX = 200


def highlight(marked: str) -> Markup:
    """Escape everything, then turn only our own markers into <mark>: member text cannot inject HTML."""
    escaped = str(escape(marked))
    return Markup(escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))  # noqa: S704 - escaped above


@dataclass(frozen=True)
class Result:
    hit: Hit
    title: Markup
    snippet: Markup

    @property
    def url(self) -> str:
        return f"/c/{self.hit.community_slug}/t/{self.hit.thread_id}#post-{self.hit.post_id}"


@dataclass(frozen=True)
class Results:
    query: str
    community_slug: str | None
    community_name: str | None
    results: list[Result]
    page: int
    has_more: bool


async def do_search(
    connection: asyncpg.Connection, user: User | None, query: str, *, community: str = "", page: int = 1
) -> Results:
    query = " ".join(query.split())
    if len(query) > QUERY_MAX:
        raise bad_request(_("Please search with fewer words."), "q")
    if page < 1 or page > MAX_PAGES:
        raise bad_request(_("That page of results is not available."), "page")
    community_id: int | None = None
    community_name: str | None = None
    if community:
        # An unknown community is a 404, as its pages are; a members-only one the reader cannot
        # read simply yields nothing (the SQL applies the same visibility rule everywhere).
        place = await open_community(connection, user, community)
        community_id, community_name = place.community.id, place.community.name
    if not query:
        return Results(query, community or None, community_name, [], page, False)
    hits = await search.search(
        connection,
        query,
        viewer_id=user.id if user else None,
        viewer_is_admin=bool(user and user.is_admin),
        community_id=community_id,
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    results = [Result(hit, highlight(hit.title_marked), highlight(hit.snippet_marked)) for hit in hits[:PAGE_SIZE]]
    return Results(query, community or None, community_name, results, page, len(hits) > PAGE_SIZE)

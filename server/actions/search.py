"""Site-wide search: checks the words, limits every kind of result to what the reader may see, groups them by
kind (condition pages, forum threads, tips, resources, live rooms) and makes safe highlighted snippets."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from markupsafe import Markup, escape

from server.actions import sections
from server.actions.threads import open_community
from server.db.queries import search
from server.db.queries.search import FRAGMENT_DELIMITER, MARK_END, MARK_START, Hit
from server.db.queries.search import KINDS as KINDS
from server.db.queries.users import User
from server.errors import bad_request
from server.i18n import _
from server.textfold import unaccent

PAGE_SIZE = 20
GROUP_SIZE = 5  # results of each kind on the page that shows every kind
MAX_PAGES = 10
QUERY_MAX = 200


def highlight(marked: str) -> Markup:
    """Escape everything, then turn only our own markers into <mark>: member text cannot inject HTML."""
    escaped = str(escape(marked))
    return Markup(escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))  # noqa: S704 - escaped above


def restore_accents(marked: str, original: str) -> str:
    """Snippets are cut from the text without its diacritics (so 'ecole' highlights 'école'): put each
    fragment's original letters back, keeping the markers where they are. A fragment not found as such
    in the text (it never happens with Postgres's own fragments) is left as it came."""
    plain_text = unaccent(original)
    fragments = []
    for fragment in marked.split(FRAGMENT_DELIMITER):
        bare = fragment.replace(MARK_START, "").replace(MARK_END, "")
        at = plain_text.find(bare)
        if at < 0 or not bare:
            fragments.append(fragment)
            continue
        letters = iter(original[at : at + len(bare)])
        fragments.append("".join(ch if ch in (MARK_START, MARK_END) else next(letters) for ch in fragment))
    return FRAGMENT_DELIMITER.join(fragments)


def kind_label(kind: str) -> str:
    labels = {
        "section": _("Condition pages"),
        "thread": _("Forum threads"),
        "tip": _("Tips"),
        "resource": _("Resources"),
        "message": _("Live rooms"),
    }
    return labels[kind]


@dataclass(frozen=True)
class Result:
    hit: Hit
    title: Markup
    snippet: Markup

    @property
    def url(self) -> str:
        hit = self.hit
        base = f"/c/{hit.community_slug}"
        if hit.kind == "thread":
            return f"{base}/t/{hit.thread_id}#post-{hit.post_id}"
        if hit.kind == "section":
            return f"{base}#section-{hit.section}"
        if hit.kind == "tip":
            return f"{base}/tips#tip-{hit.item_id}"
        if hit.kind == "resource":
            return f"{base}/resources#resource-{hit.item_id}"
        return f"{base}/live/{hit.room_slug}"

    @property
    def heading(self) -> Markup:
        """What the result is called: a thread's or tip's title, or the section and community it is in."""
        if self.hit.kind == "section":
            return escape(f"{sections.section_title(self.hit.section or '')} · {self.hit.community_name}")
        if self.hit.kind == "message":
            return escape(_("%(room)s (live room)") % {"room": self.hit.title})
        return self.title


@dataclass(frozen=True)
class Group:
    kind: str
    label: str
    results: list[Result]
    has_more: bool


@dataclass(frozen=True)
class Results:
    query: str
    community_slug: str | None
    community_name: str | None
    groups: list[Group]
    page: int
    # The one kind shown (with pages), or None: the first results of every kind.
    kind: str | None = None

    @property
    def results(self) -> list[Result]:
        return [result for group in self.groups for result in group.results]

    @property
    def has_more(self) -> bool:
        return any(group.has_more for group in self.groups)


def check_kind(kind: str) -> str | None:
    if not kind:
        return None
    if kind not in KINDS:
        raise bad_request(_("Choose what to search: condition pages, threads, tips, resources or live rooms."), "kind")
    return kind


async def do_search(
    connection: asyncpg.Connection,
    user: User | None,
    query: str,
    *,
    community: str = "",
    page: int = 1,
    kind: str = "",
) -> Results:
    """Every kind's best results (or one kind's, page by page); only what the reader may read, whatever the kind."""
    query = " ".join(query.split())
    if len(query) > QUERY_MAX:
        raise bad_request(_("Please search with fewer words."), "q")
    if page < 1 or page > MAX_PAGES:
        raise bad_request(_("That page of results is not available."), "page")
    only = check_kind(kind)
    if only is None and page > 1:
        only = "thread"  # links from before results were grouped paged through forum posts
    community_id: int | None = None
    community_name: str | None = None
    if community:
        # An unknown community is a 404, as its pages are; a members-only one the reader cannot
        # read simply yields nothing (the SQL applies the same visibility rules everywhere).
        place = await open_community(connection, user, community)
        community_id, community_name = place.community.id, place.community.name
    if not query:
        return Results(query, community or None, community_name, [], page, only)
    size = PAGE_SIZE if only else GROUP_SIZE
    groups = []
    for each in [only] if only else KINDS:
        hits = await search.search(
            connection,
            query,
            each,
            viewer_id=user.id if user else None,
            viewer_is_admin=bool(user and user.is_admin),
            community_id=community_id,
            limit=size + 1,
            offset=(page - 1) * size,
        )
        results = [
            Result(
                hit,
                highlight(restore_accents(hit.title_marked, hit.title)),
                highlight(restore_accents(hit.snippet_marked, hit.body)),
            )
            for hit in hits[:size]
        ]
        if results or only:
            groups.append(Group(each, kind_label(each), results, len(hits) > size))
    return Results(query, community or None, community_name, groups, page, only)

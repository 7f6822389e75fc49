"""Forum fragments: each post and thread-list row rendered once per version and kind of reader, then reused.

A thread page is read far more often than its posts change; rendering each post's 40-odd escaped
values on every view was most of a 50-post page's cost (bench/pages.py). The cache key holds
everything a fragment shows, so an edit, a reaction or another reader can never get a stale one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

import jinja2
from markupsafe import Markup

from server import i18n
from server.actions import access
from server.actions.threads import ThreadView
from server.db.queries.posts import PostView
from server.db.queries.threads import ThreadRow
from server.i18n import _
from server.presentation.markdown import markdown


@lru_cache(maxsize=16_384)
def _formatted_time(value: datetime, language: str, time_zone: str) -> str:
    # The key holds everything format_time reads (the moment, the reader's language and zone), so a
    # cached string is always the one format_time would give now; Babel costs ~20 µs per call.
    return i18n.format_time(value)


def when(value: datetime | None) -> str:
    """`|localtime` for rows repeated on a page: the same text, cached."""
    if value is None:
        return ""
    return _formatted_time(value, i18n.current_language(), i18n.current_time_zone())


@lru_cache(maxsize=len(i18n.SUPPORTED_LANGUAGES) + 1)
def _labels(language: str) -> dict[str, str]:
    # gettext reads the request's language: caching under another language's key would be wrong.
    assert language == i18n.current_language(), (language, i18n.current_language())
    return {
        "leader": _("Leader"),
        "expert": _("Expert"),
        "edited": _("edited"),
        "accepted": _("Accepted answer"),
        "deleted": _("This post was deleted."),
        "removed": _("This post was hidden by a leader."),
        "hidden_by_leader": _("Hidden by a leader: only leaders see this text."),
        "hidden_reason": _("Reason: %(reason)s"),
        "hide": _("Hide…"),
        "unhide": _("Restore for everyone"),
        "approve": _("Approve"),
        "reject": _("Reject…"),
        "flag": _("Flag"),
        "review_flags": _("Review the flags"),
        "hold": _("Send back to review"),
        "mute_author": _("Mute the author"),
        "held": _("Waiting for review: only you and the community's leaders can see it until a leader approves it."),
        "in_reply_to": _("In reply to %(name)s"),
        "former": _("a former member"),
        "former_member": _("A former member"),
        "gone": _("That post is no longer available."),
        "helped_me": _("Helped me"),
        "thank_you": _("Thank you"),
        "counts": _("Helped: %(helped)d · Thanks: %(thanks)d"),
        "helped_by": _("It helped %(names)s"),
        "thanked_by": _("Thanked by %(names)s"),
        "quote": _("Quote"),
        "edit": _("Edit"),
        "delete": _("Delete"),
        "restore": _("Restore"),
        "accept": _("Accept this answer"),
        "unaccept": _("Unmark as the accepted answer"),
        "pinned": _("Pinned"),
        "locked": _("Locked"),
        "discussion": _("Discussion"),
        "introduction": _("Introduction"),
        "question": _("Question"),
        "answered": _("Answered"),
        "started_by": _("Started by %(name)s"),
        "started_by_former": _("Started by a former member"),
        "last_activity": _("Last activity"),
        "members_only": _("Members only"),
        "members_only_title": _("Its author meant it for members of this community only"),
    }


def labels() -> dict[str, str]:
    """Words every row of a list or thread repeats, translated once per language rather than once per row
    (Jinja's gettext costs several microseconds a call; a 50-post page would make hundreds)."""
    return _labels(i18n.current_language())


def replies(count: int) -> str:
    return i18n.ngettext("%(num)d reply", "%(num)d replies", count) % {"num": count}


class PostKey(NamedTuple):
    """Everything a post's HTML shows, for one kind of reader: the cache key of that HTML.

    The reader-dependent parts are reduced to a few flags (their own post? may they react, reply,
    accept?) and their reaction; the CSRF token is not among them because the post's buttons submit
    one page-level form (form="post-actions") that carries it. A named tuple rather than a frozen
    dataclass: 50 keys are built, hashed and compared per page, and a tuple does that several times faster.
    """

    id: int
    thread_id: int
    author_username: str | None
    author_display_name: str | None
    author_is_expert: bool
    author_is_leader: bool
    body_md: str
    state: str
    created_at: datetime
    edited_at: datetime | None
    reply_to_post_id: int | None
    quote_author: str | None
    quote_excerpt: str | None
    helped_count: int
    thanks_count: int
    helped_by: tuple[str, ...]
    thanks_by: tuple[str, ...]
    slug: str
    accepted: bool
    is_first: bool
    own: bool
    my_reaction: str | None
    can_react: bool
    can_reply: bool
    can_accept: bool
    after: int
    language: str
    time_zone: str
    # Leaders' tools: the reason a post was hidden, whether this reader moderates here and outranks
    # the author (hide/restore), and whether they may flag it.
    state_reason: str = ""
    moderates: bool = False
    can_hide: bool = False
    can_flag: bool = False
    audience: str = "everyone"


# Bounded memory: at most 4096 fragments of posts up to 3000 characters (each key holds its body and
# the value its HTML), a few tens of MB at worst; longer posts are rendered on every view.
POST_CACHE_BODY_MAX = 3000


@lru_cache(maxsize=4096)
def _cached_post(env: jinja2.Environment, key: PostKey) -> Markup:
    return _render_post(env, key)


def _render_post(env: jinja2.Environment, key: PostKey) -> Markup:
    # The fragment sees only the key (and labels and times that the key's language and zone decide).
    html = env.get_template("forum/_post.html").render(p=key, L=_labels(key.language), when=when, markdown=markdown)
    return Markup(html)  # noqa: S704 - rendered by an autoescaping template


def post_html(env: jinja2.Environment, view: ThreadView, after: int) -> Callable[[PostView], Markup]:
    """A post of the thread page as HTML, rendered once per version of the post and kind of reader.

    A thread page is read far more often than its posts change; rendering each post's 40-odd
    escaped values on every view was most of a 50-post page's cost (bench/pages.py).
    """
    slug = view.place.community.slug
    thread = view.thread
    viewer = view.place.actor.user
    can_reply = view.can_reply
    can_accept = view.can_accept
    language, time_zone = i18n.current_language(), i18n.current_time_zone()
    actor = view.place.actor
    moderates = actor.can_moderate
    may_flag = access.can_write(actor, view.place.community)

    def render_one(post: PostView) -> Markup:
        own = viewer is not None and post.author_id == viewer.id
        author_rank = access.rank_of(is_admin=post.author_is_admin, is_leader=post.author_is_leader)
        key = PostKey(
            id=post.id,
            thread_id=thread.id,
            author_username=post.author_username,
            author_display_name=post.author_display_name,
            author_is_expert=post.author_is_expert,
            author_is_leader=post.author_is_leader,
            body_md=post.body_md,
            state=post.state,
            created_at=post.created_at,
            edited_at=post.edited_at,
            reply_to_post_id=post.reply_to_post_id,
            quote_author=post.quote_author,
            quote_excerpt=post.quote_excerpt,
            helped_count=post.helped_count,
            thanks_count=post.thanks_count,
            helped_by=tuple(post.helped_by),
            thanks_by=tuple(post.thanks_by),
            slug=slug,
            accepted=thread.kind == "question" and post.id == thread.accepted_post_id and post.state == "visible",
            is_first=post.id == view.first_post_id,
            own=own,
            my_reaction=post.my_reaction,
            can_react=can_reply and not own,
            can_reply=can_reply,
            can_accept=can_accept,
            after=after,
            language=language,
            time_zone=time_zone,
            state_reason=post.state_reason,
            moderates=moderates,
            can_hide=not own and access.can_moderate_author(actor, author_rank),
            can_flag=may_flag and not own and post.state == "visible",
            audience=post.audience,
        )
        if len(post.body_md) > POST_CACHE_BODY_MAX:
            return _render_post(env, key)
        return _cached_post(env, key)

    return render_one


def posts_html(env: jinja2.Environment, view: ThreadView, after: int) -> Markup:
    """All the posts of a thread page as one fragment (a template calling post_html 50 times costs more)."""
    render_one = post_html(env, view, after)
    return Markup("\n".join([render_one(post) for post in view.posts]))  # noqa: S704 - each part is Markup


@lru_cache(maxsize=4096)
def _cached_row(env: jinja2.Environment, row: ThreadRow, slug: str, language: str, time_zone: str) -> Markup:
    # Like a post's content: the key (the row's every field, the community, the language and zone)
    # decides everything the fragment shows.
    html = env.get_template("forum/_thread_row.html").render(
        row=row, slug=slug, L=_labels(language), when=when, replies=replies
    )
    return Markup(html)  # noqa: S704 - rendered by an autoescaping template


def thread_row(env: jinja2.Environment, slug: str) -> Callable[[ThreadRow], Markup]:
    """One row of a thread list as HTML, rendered once per version of the row."""
    language, time_zone = i18n.current_language(), i18n.current_time_zone()

    def render_one(row: ThreadRow) -> Markup:
        return _cached_row(env, row, slug, language, time_zone)

    return render_one


def thread_rows(env: jinja2.Environment, slug: str, rows: Sequence[ThreadRow]) -> Markup:
    """The rows of a thread list as one fragment (a template calling thread_row 30 times costs more)."""
    render_one = thread_row(env, slug)
    return Markup("".join([render_one(row) for row in rows]))  # noqa: S704 - each part is Markup

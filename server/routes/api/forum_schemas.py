"""JSON shapes of forum threads, posts and reactions, and their converters from domain values."""

from __future__ import annotations

from datetime import datetime

import msgspec

from server.actions.reactions import Counts
from server.actions.threads import PostView, Thread, ThreadRow
from server.presentation import markdown
from server.routes.api.support import RowId

# --- Schemas ------------------------------------------------------------------------------


class ForumAuthor(msgspec.Struct):
    username: str | None  # null for an author who uses a pseudonym in this community
    display_name: str


class ForumThreadSummary(msgspec.Struct):
    id: int
    kind: str
    title: str
    pinned: bool
    locked: bool
    reply_count: int
    accepted_post_id: int | None
    created_at: datetime
    last_activity_at: datetime
    author: ForumAuthor | None
    url: str
    # "members": its author meant it for members of the community only.
    audience: str = "everyone"


class ForumThreadList(msgspec.Struct):
    community: str
    members_only: bool
    threads: list[ForumThreadSummary]
    next_cursor: str | None
    count: int | None = None  # set instead of threads for a members-only forum seen from outside


class ForumNewThread(msgspec.Struct, forbid_unknown_fields=True):
    title: str = ""
    body: str = ""
    kind: str = "discussion"
    intro: dict[str, str] | None = None
    # "members": only members of the community may read it (matters in a public community).
    audience: str = "everyone"


class ForumCreated(msgspec.Struct):
    thread_id: int
    post_id: int
    url: str


class ForumThreadDetail(msgspec.Struct):
    id: int
    community: str
    kind: str
    title: str
    pinned: bool
    locked: bool
    reply_count: int
    accepted_post_id: int | None
    intro: dict[str, str] | None
    created_at: datetime
    last_activity_at: datetime
    url: str
    audience: str = "everyone"


class ForumQuote(msgspec.Struct):
    post_id: int
    author: str | None
    excerpt: str | None


class ForumReactions(msgspec.Struct):
    helped: int
    thanks: int
    mine: str | None
    helped_by: list[str] = []
    thanks_by: list[str] = []


class ForumPost(msgspec.Struct):
    id: int
    author: ForumAuthor | None
    author_badges: list[str]
    state: str
    body_md: str | None
    body_html: str | None
    created_at: datetime
    edited_at: datetime | None
    revision_count: int
    reply_to: ForumQuote | None
    reactions: ForumReactions
    audience: str = "everyone"


class ForumThreadPage(msgspec.Struct):
    thread: ForumThreadDetail
    posts: list[ForumPost]
    next_after: int | None


class ForumReply(msgspec.Struct, forbid_unknown_fields=True):
    body: str
    reply_to_post_id: RowId | None = None
    audience: str = "everyone"


class ForumPostCreated(msgspec.Struct):
    post_id: int
    thread_id: int
    url: str


class ForumEdit(msgspec.Struct, forbid_unknown_fields=True):
    body: str


class ForumPostState(msgspec.Struct):
    id: int
    state: str


class ForumReactionChoice(msgspec.Struct, forbid_unknown_fields=True):
    kind: str


class ForumAccept(msgspec.Struct, forbid_unknown_fields=True):
    post_id: RowId | None


class ForumAccepted(msgspec.Struct):
    thread_id: int
    accepted_post_id: int | None


# --- Converters ---------------------------------------------------------------------------


def _author(username: str | None, display_name: str | None) -> ForumAuthor | None:
    """None for a deleted account; a pseudonym comes with no username."""
    if username:
        return ForumAuthor(username, display_name or username)
    return ForumAuthor(None, display_name) if display_name else None


def summary(slug: str, row: ThreadRow) -> ForumThreadSummary:
    return ForumThreadSummary(
        id=row.id,
        kind=row.kind,
        title=row.title,
        pinned=row.pinned,
        locked=row.locked,
        reply_count=row.reply_count,
        accepted_post_id=row.accepted_post_id,
        created_at=row.created_at,
        last_activity_at=row.last_activity_at,
        author=_author(row.author_username, row.author_display_name),
        url=f"/c/{slug}/t/{row.id}",
        audience=row.audience,
    )


def detail(thread: Thread) -> ForumThreadDetail:
    return ForumThreadDetail(
        id=thread.id,
        community=thread.community_slug,
        kind=thread.kind,
        title=thread.title,
        pinned=thread.pinned,
        locked=thread.locked,
        reply_count=thread.reply_count,
        accepted_post_id=thread.accepted_post_id,
        intro={str(key): str(value) for key, value in thread.intro.items()} if thread.intro else None,
        created_at=thread.created_at,
        last_activity_at=thread.last_activity_at,
        url=f"/c/{thread.community_slug}/t/{thread.id}",
        audience=thread.audience,
    )


def post(row: PostView) -> ForumPost:
    shown = row.state in {"visible", "held"}
    badges = [name for name, has in (("leader", row.author_is_leader), ("expert", row.author_is_expert)) if has]
    return ForumPost(
        id=row.id,
        author=_author(row.author_username, row.author_display_name),
        author_badges=badges,
        state=row.state,
        body_md=row.body_md if shown else None,
        body_html=markdown.html(row.body_md, below=0) if shown else None,
        created_at=row.created_at,
        edited_at=row.edited_at,
        revision_count=row.revision_count,
        reply_to=ForumQuote(row.reply_to_post_id, row.quote_author, row.quote_excerpt)
        if row.reply_to_post_id
        else None,
        reactions=ForumReactions(row.helped_count, row.thanks_count, row.my_reaction, row.helped_by, row.thanks_by),
        audience=row.audience,
    )


def reactions_out(counts: Counts) -> ForumReactions:
    return ForumReactions(counts.helped, counts.thanks, counts.mine)

"""Forum threads: who may read a community's forum, listings with keyset cursors, reading and starting threads."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from server.actions import access, events, waiting
from server.actions import notifications as notify
from server.actions.access import ANONYMOUS, Actor, require_moderator
from server.db.queries import communities, posts, threads
from server.db.queries.communities import Community
from server.db.queries.notifications import Created
from server.db.queries.posts import PostView as PostView
from server.db.queries.threads import Cursor
from server.db.queries.threads import Thread as Thread
from server.db.queries.threads import ThreadRow as ThreadRow
from server.db.queries.users import User
from server.errors import AppError, bad_request, not_found, rate_limited
from server.i18n import _
from server.ratelimit import POSTS_PER_USER, RateLimiter

THREAD_PAGE_SIZE = 30
POST_PAGE_SIZE = 50
TITLE_MAX = 200
BODY_MAX = 50_000
KINDS = ("discussion", "introduction", "question")


@dataclass(frozen=True)
class Place:
    """A community's forum as seen by one reader."""

    community: Community
    actor: Actor

    @property
    def can_read(self) -> bool:
        return access.can_read_forum(self.actor, self.community)

    def can_read_kind(self, kind: str | None, audience: str = "everyone") -> bool:
        return access.can_read_forum(self.actor, self.community, kind, audience)

    @property
    def members_only(self) -> bool:
        return self.community.visibility != "public"


def require_writable(place: Place) -> User:
    """Members in good standing (not banned, not muted) of an active community."""
    return access.require_can_write_in(place.actor, place.community)


async def open_community(connection: asyncpg.Connection, user: User | None, slug: str) -> Place:
    """The community of a forum URL, or 404 (unknown, or not open: proposed or declined)."""
    if user is None:
        community = await communities.by_slug(connection, slug)
        standing = ANONYMOUS
    else:
        # A signed-in reader's standing comes with the community, in one round trip.
        found = await communities.by_slug_with_standing(connection, slug, user.id)
        community, standing = found if found is not None else (None, ANONYMOUS)
    if community is None or community.status not in access.READABLE_STATUSES:
        raise not_found(_("We could not find that community."))
    actor = Actor(user, community.id, standing)
    if not access.can_see_community(actor, community):
        raise not_found(_("We could not find that community."))
    return Place(community, actor)


def thread_not_found() -> AppError:
    # The same answer for "no such thread" and "not yours to see": a members-only thread's
    # existence is not confirmed to outsiders.
    return not_found(_("We could not find that thread."))


def _may_see_thread(thread: Thread, place: Place) -> bool:
    if not place.can_read_kind(thread.kind, thread.audience):
        return False
    if thread.state == "visible":
        return True
    if place.actor.can_moderate:
        return True
    return thread.state == "held" and place.actor.user is not None and thread.author_id == place.actor.user.id


async def open_thread(
    connection: asyncpg.Connection, user: User | None, thread_id: int, slug: str | None = None
) -> tuple[Place, Thread]:
    """A thread the reader may see (404 otherwise), with its community."""
    # A signed-in reader's standing comes with the thread and its community, in one round trip.
    found = await threads.with_community(connection, thread_id, viewer_id=user.id if user else None)
    if found is None:
        raise thread_not_found()
    thread, community, standing = found
    if (slug is not None and community.slug != slug) or community.status not in access.READABLE_STATUSES:
        raise thread_not_found()
    place = Place(community, Actor(user, community.id, standing))
    if not _may_see_thread(thread, place):
        raise thread_not_found()
    return place, thread


# Cursors are opaque to clients: base64 of "pinned~last_activity_iso~id".
def encode_cursor(row: ThreadRow) -> str:
    raw = f"{int(row.pinned)}~{row.last_activity_at.isoformat()}~{row.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value: str) -> Cursor:
    invalid = bad_request(_("That page link is not valid."), "cursor")
    if len(value) > 200:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        pinned, stamp, ident = raw.split("~")
        moment = datetime.fromisoformat(stamp)
        if pinned not in {"0", "1"} or moment.tzinfo is None or not ident.isdigit() or len(ident) > 18:
            raise ValueError(raw)
        return Cursor(pinned == "1", moment, int(ident))
    except (ValueError, UnicodeDecodeError, binascii.Error) as error:
        raise invalid from error


@dataclass(frozen=True)
class ThreadList:
    place: Place
    rows: list[ThreadRow]
    next_cursor: str | None
    hidden_count: int | None  # members-only forum seen from outside: only how many threads there are


async def list_threads(
    connection: asyncpg.Connection,
    place: Place,
    *,
    kind: str | None = None,
    unanswered: bool = False,
    cursor: str | None = None,
    limit: int = THREAD_PAGE_SIZE,
) -> ThreadList:
    if kind is not None and kind not in KINDS:
        raise bad_request(_("Unknown kind of thread."), "kind")
    after = decode_cursor(cursor) if cursor else None
    if not place.can_read_kind(kind):
        return ThreadList(place, [], None, await threads.count_visible(connection, place.community.id, kind))
    rows = await threads.listing(
        connection,
        place.community.id,
        kind=kind,
        unanswered=unanswered,
        after=after,
        limit=limit + 1,
        without_introductions=kind is None and not place.can_read_kind("introduction"),
        without_members_only=not place.can_read_kind(kind, "members"),
    )
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return ThreadList(place, rows[:limit], next_cursor, None)


@dataclass(frozen=True)
class ThreadView:
    place: Place
    thread: Thread
    posts: list[PostView]
    next_after: int | None
    first_post_id: int | None

    @property
    def can_reply(self) -> bool:
        return access.can_reply(self.place.actor, self.place.community, thread_locked=self.thread.locked)

    @property
    def muted_notice(self) -> str | None:
        return access.muted_notice(self.place.actor)

    @property
    def can_accept(self) -> bool:
        actor = self.place.actor
        if self.thread.kind != "question" or actor.user is None:
            return False
        return actor.user.id == self.thread.author_id or actor.can_moderate


async def view_thread(
    connection: asyncpg.Connection,
    user: User | None,
    thread_id: int,
    *,
    slug: str | None = None,
    after: int = 0,
    limit: int = POST_PAGE_SIZE,
) -> ThreadView:
    """A page of a thread: the thread, its community, and up to `limit` posts after post `after`."""
    if after < 0:
        raise bad_request(_("That page link is not valid."), "after")
    place, thread = await open_thread(connection, user, thread_id, slug)
    rows = await posts.page(
        connection,
        thread_id=thread.id,
        community_id=thread.community_id,
        viewer_id=user.id if user else None,
        viewer_moderates=place.actor.can_moderate,
        members_only_readable=place.can_read_kind(thread.kind, "members"),
        after_id=after,
        limit=limit + 1,
    )
    next_after = rows[limit - 1].id if len(rows) > limit else None
    rows = rows[:limit]
    # The opening post is the thread's first; on later pages it is not shown, so it needs no lookup.
    first = rows[0].id if rows and after == 0 else None
    return ThreadView(place, thread, rows, next_after, first)


def check_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise bad_request(_("Please give your thread a title."), "title")
    if len(title) > TITLE_MAX:
        raise bad_request(_("A title can have at most %(max)d characters.") % {"max": TITLE_MAX}, "title")
    return title


def check_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise bad_request(_("Please write something before sending."), "body")
    if len(body) > BODY_MAX:
        raise bad_request(_("A post can have at most %(max)d characters.") % {"max": BODY_MAX}, "body")
    if "\x00" in body:
        raise bad_request(_("The text contains characters that cannot be stored."), "body")
    return body


AUDIENCES = ("everyone", "members")


def check_audience(audience: str | None) -> str:
    """Who a new thread or post is for: everyone who may read the forum, or members of the community only."""
    audience = audience or "everyone"
    if audience not in AUDIENCES:
        raise bad_request(_("Choose who can read it: everyone, or members only."), "audience")
    return audience


async def check_post_allowance(limiter: RateLimiter | None, user: User) -> None:
    if limiter is not None and not await limiter.hit(POSTS_PER_USER, str(user.id)):
        raise rate_limited(_("You are posting very quickly. Please wait a few minutes and try again."))


@dataclass(frozen=True)
class Started:
    thread_id: int
    post_id: int
    notified: list[Created]
    held: bool = False  # waiting for a leader's review (first-post hold)


async def do_create_thread(
    connection: asyncpg.Connection,
    limiter: RateLimiter | None,
    place: Place,
    *,
    title: str,
    body: str,
    kind: str = "discussion",
    intro: dict[str, Any] | None = None,
    extra_recipients: notify.Recipients | None = None,
    audience: str = "everyone",
) -> Started:
    """Start a thread with its first post; members mentioned in it are notified.

    A new member's thread waits for a leader's review (first-post hold): it is stored 'held', only its
    author and the leaders see it, and nobody is notified until it is approved (server/actions/review.py).
    """
    user = require_writable(place)
    if kind not in KINDS:
        raise bad_request(_("Unknown kind of thread."), "kind")
    title = check_title(title)
    body = check_body(body)
    audience = check_audience(audience)
    await check_post_allowance(limiter, user)
    community_id = place.community.id
    held = place.actor.standing.needs_review
    state = "held" if held else "visible"
    async with events.unit_of_work(connection):
        thread_id = await threads.create(
            connection,
            community_id=community_id,
            kind=kind,
            title=title,
            author_id=user.id,
            intro=intro,
            state=state,
            audience=audience,
        )
        post = await posts.create(
            connection, thread_id=thread_id, author_id=user.id, body_md=body, state=state, audience=audience
        )
        events.emit(events.PostChanged(thread_id, post.id, "new", audience))
        if held:
            await waiting.tell_held(
                connection,
                community_id=community_id,
                community_slug=place.community.slug,
                item=f"post:{post.id}",
                what="introduction" if kind == "introduction" else "thread",
                author_id=user.id,
                title=title,
            )
            return Started(thread_id, post.id, [], held=True)
        await threads.note_community_activity(connection, community_id)
        recipients = extra_recipients or notify.Recipients()
        await notify.add_mentions(connection, recipients, community_id, body)
        created = await notify.send(
            connection, recipients, actor_id=user.id, community_id=community_id, thread_id=thread_id, post_id=post.id
        )
    return Started(thread_id, post.id, created)


async def do_set_thread_flags(
    connection: asyncpg.Connection,
    user: User | None,
    thread_id: int,
    *,
    slug: str | None = None,
    pinned: bool | None = None,
    locked: bool | None = None,
) -> Thread:
    """Pin/unpin or lock/unlock a thread: this community's leaders and site admins only, logged."""
    place, thread = await open_thread(connection, user, thread_id, slug)
    leader = require_moderator(place.actor)
    async with events.unit_of_work(connection):
        await threads.set_flags(connection, thread.id, pinned=pinned, locked=locked)
        for name, value in (("pin", pinned), ("lock", locked)):
            if value is not None:
                await threads.log_moderation(
                    connection,
                    community_id=thread.community_id,
                    actor_id=leader.id,
                    action=name if value else "un" + name,
                    target_kind="thread",
                    target_id=thread.id,
                    target_user_id=thread.author_id,
                )
    updated = await threads.by_id(connection, thread.id)
    assert updated is not None
    return updated

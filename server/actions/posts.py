"""Forum posts: replying (and quoting), editing your own post with its history kept, deleting and restoring it."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from server.actions import events, waiting
from server.actions import notifications as notify
from server.actions.threads import (
    POST_PAGE_SIZE,
    Place,
    check_audience,
    check_body,
    check_post_allowance,
    open_thread,
    require_writable,
    thread_not_found,
)
from server.db.queries import posts, threads
from server.db.queries.notifications import Created
from server.db.queries.posts import Post, Revision
from server.db.queries.threads import Thread
from server.db.queries.users import User
from server.errors import AppError, Conflict, NotYours, bad_request, conflict, not_found
from server.i18n import _
from server.ratelimit import RateLimiter

# What the author of a thread hears when someone replies, by kind of thread.
OWNER_KIND = {"discussion": "reply", "question": "answer", "introduction": "welcome"}


async def reply_recipients(
    connection: asyncpg.Connection, thread: Thread, author_id: int | None, body: str, quoted_author_id: int | None
) -> notify.Recipients:
    """Who hears about a reply: the thread's author, the author of the quoted post, members mentioned."""
    recipients = notify.Recipients()
    if thread.author_id != author_id:
        recipients.add(thread.author_id, OWNER_KIND[thread.kind])
    recipients.add(quoted_author_id, "reply")
    await notify.add_mentions(connection, recipients, thread.community_id, body)
    return recipients


@dataclass(frozen=True)
class Replied:
    post: Post
    thread: Thread
    notified: list[Created]


async def do_reply(
    connection: asyncpg.Connection,
    limiter: RateLimiter | None,
    user: User | None,
    thread_id: int,
    *,
    body: str,
    reply_to_post_id: int | None = None,
    slug: str | None = None,
    audience: str = "everyone",
) -> Replied:
    """Reply in a thread (optionally quoting one of its posts), for everyone who may read the thread or
    for members only. Locked threads refuse, except to leaders."""
    place, thread = await open_thread(connection, user, thread_id, slug)
    author = require_writable(place)
    if thread.state != "visible":
        raise conflict(_("This thread is not open for replies."))
    if thread.locked and not place.actor.can_moderate:
        raise Conflict(_("This thread is locked: no new replies."), code="locked")
    body = check_body(body)
    audience = check_audience(audience)
    quoted: Post | None = None
    if reply_to_post_id is not None:
        quoted = await posts.by_id(connection, reply_to_post_id)
        if quoted is None or quoted.thread_id != thread.id or quoted.state != "visible":
            raise bad_request(_("The post you are replying to is not in this thread any more."), "reply_to_post_id")
    await check_post_allowance(limiter, author)
    # A new member's reply waits for a leader's review (first-post hold): stored 'held', not counted,
    # and nobody is notified until it is approved (server/actions/review.py sends these notifications then).
    held = place.actor.standing.needs_review
    async with events.unit_of_work(connection):
        post = await posts.create(
            connection,
            thread_id=thread.id,
            author_id=author.id,
            body_md=body,
            reply_to_post_id=reply_to_post_id,
            state="held" if held else "visible",
            audience=audience,
        )
        events.emit(events.PostChanged(thread.id, post.id, "new", _audience(thread, post)))
        if held:
            await waiting.tell_held(
                connection,
                community_id=thread.community_id,
                community_slug=place.community.slug,
                item=f"post:{post.id}",
                what="post",
                author_id=author.id,
                title=thread.title,
            )
            return Replied(post, thread, [])
        await threads.note_reply(connection, thread.id)
        recipients = await reply_recipients(
            connection, thread, author.id, body, quoted.author_id if quoted is not None else None
        )
        created = await notify.send(
            connection,
            recipients,
            actor_id=author.id,
            community_id=thread.community_id,
            thread_id=thread.id,
            post_id=post.id,
        )
    return Replied(post, thread, created)


def _audience(thread: Thread, post: Post) -> str:
    """Who may hear that a post changed: members only when the post or its thread is meant for them."""
    return "members" if "members" in (thread.audience, post.audience) else "everyone"


@dataclass(frozen=True)
class OwnPost:
    place: Place
    thread: Thread
    post: Post
    is_first: bool


async def open_post(
    connection: asyncpg.Connection, user: User | None, post_id: int, slug: str | None = None
) -> tuple[Place, Thread, Post]:
    """A post in a thread the reader may see, or 404."""
    post = await posts.by_id(connection, post_id)
    if post is None:
        raise not_found(_("We could not find that post."))
    try:
        place, thread = await open_thread(connection, user, post.thread_id, slug)
    except AppError as error:
        raise not_found(_("We could not find that post.")) from error
    moderates = place.actor.can_moderate
    own = user is not None and post.author_id == user.id
    if post.state == "held" and not (own or moderates):
        raise not_found(_("We could not find that post."))
    if not place.can_read_kind(thread.kind, post.audience):
        raise not_found(_("We could not find that post."))
    return place, thread, post


async def _own_post(connection: asyncpg.Connection, user: User | None, post_id: int, slug: str | None) -> OwnPost:
    """The author's own post, after the write checks (member in good standing, active community)."""
    place, thread, post = await open_post(connection, user, post_id, slug)
    # Whose post it is comes first: someone else's post is refused as such, whatever their standing.
    if user is not None and post.author_id != user.id:
        raise NotYours(_("You can only change your own posts."))
    require_writable(place)
    first = await posts.first_post_id(connection, thread.id)
    return OwnPost(place, thread, post, post.id == first)


async def check_edit(connection: asyncpg.Connection, user: User | None, post_id: int, slug: str | None) -> OwnPost:
    """What the edit form needs: the author's own post that can still be edited."""
    own = await _own_post(connection, user, post_id, slug)
    if own.post.state not in {"visible", "held"}:
        raise conflict(_("This post can no longer be edited."))
    return own


async def do_edit(
    connection: asyncpg.Connection, user: User | None, post_id: int, *, body: str, slug: str | None = None
) -> OwnPost:
    """Replace the text of your own post; the previous text is kept as a revision anyone can read."""
    own = await check_edit(connection, user, post_id, slug)
    body = check_body(body)
    if body == own.post.body_md:
        return own
    editor = own.place.actor.user
    assert editor is not None
    async with events.unit_of_work(connection):
        await posts.edit(connection, post_id, body_md=body, editor_id=editor.id)
        events.emit(events.PostChanged(own.thread.id, post_id, "edit", _audience(own.thread, own.post)))
        if own.post.state != "visible":
            return own  # a held post's mentions are sent when it is approved
        recipients = notify.Recipients()
        await notify.add_mentions(connection, recipients, own.thread.community_id, body, already=own.post.body_md)
        await notify.send(
            connection,
            recipients,
            actor_id=editor.id,
            community_id=own.thread.community_id,
            thread_id=own.thread.id,
            post_id=post_id,
        )
    return own


async def do_delete(
    connection: asyncpg.Connection, user: User | None, post_id: int, *, slug: str | None = None
) -> OwnPost:
    """Soft-delete your own post: it shows as deleted and its text stays for moderation."""
    own = await _own_post(connection, user, post_id, slug)
    if own.post.state not in {"visible", "held"}:
        raise conflict(_("This post cannot be deleted now."))
    async with events.unit_of_work(connection):
        # A held post remembers it was held, so restoring it does not skip the review.
        await posts.set_state(connection, post_id, "deleted", "held" if own.post.state == "held" else "")
        events.emit(events.PostChanged(own.thread.id, post_id, "remove", _audience(own.thread, own.post)))
        if own.post.state == "visible" and not own.is_first:
            await threads.change_reply_count(connection, own.thread.id, -1)
        if own.thread.accepted_post_id == post_id:
            await threads.set_accepted(connection, own.thread.id, None)
    return own


async def do_restore(
    connection: asyncpg.Connection, user: User | None, post_id: int, *, slug: str | None = None
) -> OwnPost:
    """Undo the deletion of your own post (not a removal by a leader)."""
    own = await _own_post(connection, user, post_id, slug)
    if own.post.state != "deleted":
        raise conflict(_("Only a post you deleted can be restored."))
    new_state = "held" if own.post.state_reason == "held" else "visible"
    async with events.unit_of_work(connection):
        await posts.set_state(connection, post_id, new_state)
        events.emit(events.PostChanged(own.thread.id, post_id, "edit", _audience(own.thread, own.post)))
        if new_state == "visible" and not own.is_first:
            await threads.change_reply_count(connection, own.thread.id, 1)
    return own


@dataclass(frozen=True)
class History:
    place: Place
    thread: Thread
    post: Post
    revisions: list[Revision]


async def history(connection: asyncpg.Connection, user: User | None, post_id: int, slug: str | None) -> History:
    """Earlier versions of a visible post; deleted and removed posts keep theirs for moderators only."""
    place, thread, post = await open_post(connection, user, post_id, slug)
    if post.state not in {"visible", "held"} and not place.actor.can_moderate:
        raise thread_not_found()
    return History(place, thread, post, await posts.revisions(connection, post_id))


async def locate(connection: asyncpg.Connection, user: User | None, post_id: int, slug: str | None = None) -> str:
    """The URL of the thread page that shows this post, anchored on it."""
    place, thread, post = await open_post(connection, user, post_id, slug)
    after = await posts.page_start(connection, thread.id, post.id, POST_PAGE_SIZE)
    query = f"?after={after}" if after else ""
    return f"/c/{place.community.slug}/t/{thread.id}{query}#post-{post.id}"

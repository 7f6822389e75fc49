"""Leaders moderate forum content: hide and restore posts, move threads; shared helpers for review and flags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from server.actions import access, events, waiting
from server.actions import notifications as notify
from server.actions.access import ANONYMOUS, Actor, actor_for, require_moderator, require_outranks
from server.db.queries import audit, communities, flags, posts, review, threads, users
from server.db.queries.communities import Community
from server.db.queries.notifications import Created
from server.db.queries.review import PostPlace
from server.db.queries.threads import Thread
from server.db.queries.users import User
from server.errors import bad_request, conflict, not_found
from server.i18n import _

MAX_REASON = 500


def check_reason(reason: str, *, required: bool = True) -> str:
    """A leader's reason, on one line; the member concerned reads it."""
    clean = " ".join(reason.split())
    if required and not clean:
        raise bad_request(_("Please give a reason: the member will see it."), "reason")
    if len(clean) > MAX_REASON:
        raise bad_request(_("A reason can have at most %(max)d characters.") % {"max": MAX_REASON}, "reason")
    return clean


async def author_actor(connection: asyncpg.Connection, author_id: int | None, community_id: int) -> Actor:
    """The author of some content as this community sees them (a deleted account ranks below everyone)."""
    user = await users.by_id(connection, author_id) if author_id is not None else None
    if user is None:
        return Actor(None, community_id, ANONYMOUS)
    return await actor_for(connection, user, community_id)


async def post_in(connection: asyncpg.Connection, actor: Actor, post_id: int) -> PostPlace:
    """A post of the actor's community (404 for a post elsewhere: a leader acts only where they lead)."""
    place = await review.post_place(connection, post_id)
    if place is None or place.community_id != actor.community_id:
        raise not_found(_("We could not find that post."))
    return place


async def tell_author(
    connection: asyncpg.Connection,
    *,
    author_id: int | None,
    actor_id: int,
    community_id: int,
    data: dict[str, Any],
    thread_id: int | None = None,
    post_id: int | None = None,
) -> list[Created]:
    """A 'moderation' notification to the author: its sentence is built from data in the reader's language."""
    if author_id is None:
        return []
    return await notify.create(
        connection,
        [(author_id, "moderation")],
        community_id=community_id,
        thread_id=thread_id,
        post_id=post_id,
        actor_id=actor_id,
        data=data,
    )


async def hide_post_state(connection: asyncpg.Connection, place: PostPlace, state: str, reason: str) -> None:
    """Take a post out of view (hidden, or held while flags wait), keeping the thread's reply count right."""
    await posts.set_state(connection, place.id, state, reason)
    if place.state == "visible" and not place.is_first:
        await threads.change_reply_count(connection, place.thread_id, -1)


async def show_post_state(connection: asyncpg.Connection, place: PostPlace) -> None:
    """Put a post back in view; a thread that was hidden with its opening post comes back with it."""
    await posts.set_state(connection, place.id, "visible", "")
    if place.is_first:
        if place.thread_state != "visible":
            await review.set_thread_state(connection, place.thread_id, "visible")
    elif place.state != "visible":
        await threads.change_reply_count(connection, place.thread_id, 1)


@dataclass(frozen=True)
class Moderated:
    place: PostPlace
    notified: list[Created]


async def do_hide_post(connection: asyncpg.Connection, actor: Actor, post_id: int, *, reason: str) -> Moderated:
    """A leader hides a visible post: others see a placeholder, leaders the text marked with the reason."""
    leader = require_moderator(actor)
    place = await post_in(connection, actor, post_id)
    require_outranks(actor, await author_actor(connection, place.author_id, place.community_id))
    clean = check_reason(reason)
    if place.state != "visible":
        raise conflict(_("Only a visible post can be hidden."))
    async with events.unit_of_work(connection):
        await hide_post_state(connection, place, "hidden", clean)
        events.emit(events.PostChanged(place.thread_id, place.id, "remove", place.audience))
        # Hiding a flagged post answers its flags.
        await flags.resolve(connection, post_id=place.id, message_id=None, status="upheld", handled_by=leader.id)
        await audit.record(
            connection,
            community_id=place.community_id,
            actor_id=leader.id,
            action="hide_post",
            target_user_id=place.author_id,
            target_kind="post",
            target_id=place.id,
            reason=clean,
            details={"thread_id": place.thread_id},
        )
        await waiting.settle(connection, place.community_id, f"post:{place.id}")
        notified = await tell_author(
            connection,
            author_id=place.author_id,
            actor_id=leader.id,
            community_id=place.community_id,
            thread_id=place.thread_id,
            post_id=place.id,
            data={"event": "hidden", "what": "post", "reason": clean, "title": place.thread_title},
        )
    return Moderated(place, notified)


async def actor_for_post(connection: asyncpg.Connection, user: User | None, post_id: int) -> Actor:
    """Who the user is in the community of a post, for moderating it by its id alone (the JSON API).

    A post the user may not even read is not found, so its existence is not confirmed to outsiders.
    """
    place = await review.post_place(connection, post_id)
    community = await communities.by_id(connection, place.community_id) if place is not None else None
    if place is None or community is None:
        raise not_found(_("We could not find that post."))
    actor = await actor_for(connection, user, place.community_id)
    if not access.can_read_forum(actor, community) and not access.can_moderate(actor):
        raise not_found(_("We could not find that post."))
    return actor


async def do_restore_post(connection: asyncpg.Connection, actor: Actor, post_id: int) -> Moderated:
    """A leader shows a post they (or another leader) hid again."""
    leader = require_moderator(actor)
    place = await post_in(connection, actor, post_id)
    require_outranks(actor, await author_actor(connection, place.author_id, place.community_id))
    if place.state != "hidden":
        raise conflict(_("Only a post hidden by a leader can be restored."))
    async with events.unit_of_work(connection):
        await show_post_state(connection, place)
        events.emit(events.PostChanged(place.thread_id, place.id, "edit", place.audience))
        await audit.record(
            connection,
            community_id=place.community_id,
            actor_id=leader.id,
            action="restore_post",
            target_user_id=place.author_id,
            target_kind="post",
            target_id=place.id,
            details={"thread_id": place.thread_id},
        )
        notified = await tell_author(
            connection,
            author_id=place.author_id,
            actor_id=leader.id,
            community_id=place.community_id,
            thread_id=place.thread_id,
            post_id=place.id,
            data={"event": "restored", "what": "post", "title": place.thread_title},
        )
    return Moderated(place, notified)


async def thread_to_move(connection: asyncpg.Connection, actor: Actor, thread_id: int) -> Thread:
    """A thread of the actor's community that they may move (leaders and site admins)."""
    require_moderator(actor)
    thread = await threads.by_id(connection, thread_id)
    if thread is None or thread.community_id != actor.community_id:
        raise not_found(_("We could not find that thread."))
    return thread


@dataclass(frozen=True)
class Moved:
    thread: Thread
    target: Community


async def do_move_thread(connection: asyncpg.Connection, actor: Actor, thread_id: int, *, target_slug: str) -> Moved:
    """Move a thread (with its posts and open flags) to another active community; logged in both."""
    leader = require_moderator(actor)
    thread = await thread_to_move(connection, actor, thread_id)
    slug = target_slug.strip().lower().removeprefix("/c/").strip("/")
    if not slug:
        raise bad_request(_("Please give the address of the community to move it to."), "target")
    target = await communities.by_slug(connection, slug[:80])
    if target is None:
        raise bad_request(_("There is no community at that address."), "target")
    if target.id == thread.community_id:
        raise bad_request(_("The thread is already in this community."), "target")
    if target.status != "active":
        raise bad_request(_("Threads can only be moved to an active community."), "target")
    async with events.unit_of_work(connection):
        await review.move_thread(connection, thread.id, target.id)
        await flags.move_to_community(connection, thread.id, target.id)
        details = {"from": thread.community_slug, "to": target.slug, "title": thread.title}
        for community_id, action in ((thread.community_id, "move_thread"), (target.id, "move_thread_in")):
            await audit.record(
                connection,
                community_id=community_id,
                actor_id=leader.id,
                action=action,
                target_user_id=thread.author_id,
                target_kind="thread",
                target_id=thread.id,
                details=details,
            )
    moved = await threads.by_id(connection, thread.id)
    assert moved is not None
    return Moved(moved, target)

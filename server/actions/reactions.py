"""'I helped' and 'thank you' reactions on posts: one per member per post, switched or removed by reacting again."""

from __future__ import annotations

import asyncpg

from server.actions import events
from server.actions.posts import open_post
from server.actions.threads import require_writable
from server.db.queries import reactions
from server.db.queries.posts import Post
from server.db.queries.reactions import Counts as Counts
from server.db.queries.users import User
from server.errors import bad_request, conflict
from server.i18n import _

KINDS = ("helped", "thanks")


async def _check(
    connection: asyncpg.Connection, user: User | None, post_id: int, slug: str | None
) -> tuple[User, Post]:
    place, _thread, post = await open_post(connection, user, post_id, slug)
    member = require_writable(place)
    if post.state != "visible":
        raise conflict(_("This post cannot receive reactions."))
    if post.author_id == member.id:
        raise bad_request(_("You cannot react to your own post."), "kind")
    return member, post


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise bad_request(_("Choose “I helped” or “thank you”."), "kind")
    return kind


async def do_toggle(
    connection: asyncpg.Connection, user: User | None, post_id: int, kind: str, *, slug: str | None = None
) -> Counts:
    """The button: a new reaction is added, the other kind is switched to this one, the same kind is removed."""
    kind = check_kind(kind)
    member, post = await _check(connection, user, post_id, slug)
    async with events.unit_of_work(connection):
        events.emit(events.PostChanged(post.thread_id, post_id, "edit", post.audience))
        current = await reactions.current(connection, post_id, member.id, lock=True)
        if current == kind:
            await reactions.remove(connection, post_id, member.id)
        else:
            await reactions.put(connection, post_id, member.id, kind)
    return await reactions.counts(connection, post_id, member.id)


async def do_set(
    connection: asyncpg.Connection, user: User | None, post_id: int, kind: str, *, slug: str | None = None
) -> Counts:
    """The API's PUT-like POST: the member's reaction becomes `kind` (repeating it changes nothing)."""
    kind = check_kind(kind)
    member, post = await _check(connection, user, post_id, slug)
    async with events.unit_of_work(connection):
        events.emit(events.PostChanged(post.thread_id, post_id, "edit", post.audience))
        await reactions.put(connection, post_id, member.id, kind)
    return await reactions.counts(connection, post_id, member.id)


async def do_remove(
    connection: asyncpg.Connection, user: User | None, post_id: int, *, slug: str | None = None
) -> Counts:
    member, post = await _check(connection, user, post_id, slug)
    async with events.unit_of_work(connection):
        events.emit(events.PostChanged(post.thread_id, post_id, "edit", post.audience))
        await reactions.remove(connection, post_id, member.id)
    return await reactions.counts(connection, post_id, member.id)

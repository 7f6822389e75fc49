"""Expert questions: asking, the expert badge given by site admins, and accepting one answer."""

from __future__ import annotations

import asyncpg

from server.actions import events
from server.actions import notifications as notify
from server.actions.threads import open_thread, require_writable
from server.db.queries import posts, threads
from server.db.queries.threads import Thread
from server.db.queries.users import User
from server.errors import NotYours, bad_request, conflict
from server.i18n import _


async def do_accept(
    connection: asyncpg.Connection,
    user: User | None,
    thread_id: int,
    post_id: int | None,
    *,
    slug: str | None = None,
) -> Thread:
    """Mark one reply as the accepted answer (None clears it): the asker or a leader of the community only."""
    place, thread = await open_thread(connection, user, thread_id, slug)
    member = require_writable(place)
    if thread.kind != "question":
        raise conflict(_("Only questions have an accepted answer."))
    if member.id != thread.author_id and not place.actor.can_moderate:
        raise NotYours(_("Only the person who asked or a leader can accept an answer."))
    answer_author: int | None = None
    if post_id is not None:
        answer = await posts.by_id(connection, post_id)
        first = await posts.first_post_id(connection, thread.id)
        if answer is None or answer.thread_id != thread.id or answer.state != "visible" or answer.id == first:
            raise bad_request(_("Choose one of the visible answers in this question."), "post_id")
        answer_author = answer.author_id
    async with events.unit_of_work(connection):
        await threads.set_accepted(connection, thread.id, post_id)
        # The answer that gains (or loses) the mark changes on open copies of the question.
        for changed in {post_id, thread.accepted_post_id} - {None}:
            assert changed is not None
            events.emit(events.PostChanged(thread.id, changed, "edit"))
        if post_id is not None and post_id != thread.accepted_post_id:
            recipients = notify.Recipients()
            recipients.add(answer_author, "accepted")
            await notify.send(
                connection,
                recipients,
                actor_id=member.id,
                community_id=thread.community_id,
                thread_id=thread.id,
                post_id=post_id,
            )
    updated = await threads.by_id(connection, thread.id)
    assert updated is not None
    return updated

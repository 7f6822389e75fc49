"""The unit of work: events wait for their transaction, are published once on commit, and never on rollback."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import pytest

from server.actions import events, posts
from server.db.queries import users
from tests.factories import add_member, create_community, create_thread, create_user


class Recorder:
    """A publisher that keeps every batch it is given."""

    def __init__(self) -> None:
        self.batches: list[list[events.Event]] = []

    async def publish_events(self, batch: Sequence[events.Event]) -> None:
        self.batches.append(list(batch))


async def _note(db: asyncpg.Connection, text: str) -> None:
    await db.execute("CREATE TABLE IF NOT EXISTS uow_notes (text text)")
    await db.execute("INSERT INTO uow_notes VALUES ($1)", text)


async def test_events_are_published_once_after_the_commit_in_emission_order(db: asyncpg.Connection) -> None:
    recorder = Recorder()
    with events.publishing_to(recorder):
        async with events.unit_of_work(db):
            await _note(db, "kept")
            events.emit(events.PostChanged(1, 10, "new"))
            events.emit(events.Notified(7, 100))
            assert recorder.batches == [], "nothing may leave before the commit"
    assert recorder.batches == [[events.PostChanged(1, 10, "new"), events.Notified(7, 100)]]
    assert await db.fetchval("SELECT text FROM uow_notes") == "kept"


async def test_nothing_is_published_when_the_transaction_rolls_back(db: asyncpg.Connection) -> None:
    await db.execute("CREATE TABLE uow_notes (text text)")
    recorder = Recorder()
    with events.publishing_to(recorder), pytest.raises(ValueError):
        async with events.unit_of_work(db):
            await _note(db, "rolled back")
            events.emit(events.PostChanged(1, 10, "new"))
            raise ValueError("the action failed after emitting")
    assert recorder.batches == []
    assert await db.fetchval("SELECT count(*) FROM uow_notes") == 0


async def test_a_nested_unit_waits_for_the_outermost_commit(db: asyncpg.Connection) -> None:
    recorder = Recorder()
    with events.publishing_to(recorder):
        async with events.unit_of_work(db):
            async with events.unit_of_work(db):
                events.emit(events.PostChanged(1, 10, "edit"))
            assert recorder.batches == [], "an inner unit is a savepoint: its events wait for the outer commit"
            events.emit(events.PostChanged(1, 11, "edit"))
    assert recorder.batches == [[events.PostChanged(1, 10, "edit"), events.PostChanged(1, 11, "edit")]]


async def test_an_outer_rollback_drops_the_events_of_units_inside_it(db: asyncpg.Connection) -> None:
    recorder = Recorder()
    with events.publishing_to(recorder), pytest.raises(RuntimeError):
        async with events.unit_of_work(db):
            async with events.unit_of_work(db):
                events.emit(events.PostChanged(1, 10, "edit"))
            raise RuntimeError("later work failed")
    assert recorder.batches == []


async def test_the_same_change_twice_is_one_event_but_two_notifications_count_twice(db: asyncpg.Connection) -> None:
    recorder = Recorder()
    with events.publishing_to(recorder):
        async with events.unit_of_work(db):
            events.emit(events.PostChanged(1, 10, "edit"))
            events.emit(events.PostChanged(1, 10, "edit"))
            events.emit(events.Notified(7, 100))
            events.emit(events.Notified(7, 101))
    assert recorder.batches == [[events.PostChanged(1, 10, "edit"), events.Notified(7, 100), events.Notified(7, 101)]]


async def test_an_answer_first_unit_publishes_once_right_after_its_caller_goes_on(db: asyncpg.Connection) -> None:
    recorder = Recorder()
    with events.publishing_to(recorder):
        async with events.unit_of_work(db, single_statement=True, answer_first=True):
            events.emit(events.PostChanged(1, 10, "new"))
        assert recorder.batches == [], "the caller answers first (a chat message's ack)"
        await events.settle()
    assert recorder.batches == [[events.PostChanged(1, 10, "new")]]


async def test_an_answer_first_unit_that_fails_publishes_nothing(db: asyncpg.Connection) -> None:
    recorder = Recorder()
    with events.publishing_to(recorder), pytest.raises(ValueError):
        async with events.unit_of_work(db, single_statement=True, answer_first=True):
            events.emit(events.PostChanged(1, 10, "new"))
            raise ValueError("the insert failed")
    await events.settle()
    assert recorder.batches == []


async def test_emitting_outside_a_unit_of_work_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError, match="unit_of_work"):
        events.emit(events.PostChanged(1, 10, "new"))


async def test_a_reply_inside_a_failed_larger_transaction_publishes_nothing_and_stores_nothing(
    db: asyncpg.Connection,
) -> None:
    community = await create_community(db)
    asker, helper = await create_user(db, "lucia"), await create_user(db, "amara")
    for user_id in (asker, helper):
        await add_member(db, community, user_id)
    thread_id = await create_thread(db, community, asker, "Tiredness after school")
    replier = await users.by_id(db, helper)
    posts_before = await db.fetchval("SELECT count(*) FROM posts")
    recorder = Recorder()
    with events.publishing_to(recorder), pytest.raises(LookupError):
        async with events.unit_of_work(db):
            await posts.do_reply(db, None, replier, thread_id, body="Rest breaks helped us.")
            raise LookupError("something after the reply failed")
    assert recorder.batches == []
    assert await db.fetchval("SELECT count(*) FROM posts") == posts_before
    assert await db.fetchval("SELECT count(*) FROM notifications") == 0

    # The same reply on its own commits, and its events (the thread changed, the asker notified) go out once.
    with events.publishing_to(recorder):
        done = await posts.do_reply(db, None, replier, thread_id, body="Rest breaks helped us.")
    notification = await db.fetchval("SELECT id FROM notifications")
    assert recorder.batches == [
        [events.PostChanged(thread_id, done.post.id, "new"), events.Notified(asker, notification)]
    ]

"""Room lookups: by names, and with the reader's standing in the same round trip."""

from __future__ import annotations

import asyncpg

from server.actions.access import ANONYMOUS
from server.db.queries import memberships, rooms, users
from tests.factories import create_cast


async def test_a_room_with_the_reader_has_the_standing_the_standing_query_gives(db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    await db.execute(
        "UPDATE memberships SET approved_posts = 5 WHERE community_id = $1 AND user_id = $2",
        cast["community"],
        cast["member"],
    )
    plain = await rooms.by_names(db, "test-condition", "main")
    assert plain is not None
    for name in ["member", "leader", "muted", "siteadmin", "banned", "outsider", None]:
        user = await users.by_username(db, name) if name else None
        expected = await memberships.standing(db, cast["community"], user.id) if user else ANONYMOUS
        found = await rooms.by_names_with_standing(db, "test-condition", "main", user.id if user else None)
        assert found == (plain, expected), name


async def test_an_unknown_room_is_none_with_or_without_a_reader(db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    assert await rooms.by_names_with_standing(db, "test-condition", "nowhere", cast["member"]) is None
    assert await rooms.by_names_with_standing(db, "no-such-community", "main", None) is None

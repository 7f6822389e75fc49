"""After a Redis reconnect the live service re-reads the heads of open rooms and conversations from Postgres."""

from __future__ import annotations

import asyncpg

from server.live import HeadReader
from tests.factories import add_member, create_community, create_user


async def test_the_head_reader_reads_rooms_and_private_conversations(db: asyncpg.Connection, database_url: str) -> None:
    community = await create_community(db)
    ana, ben = await create_user(db, "ana"), await create_user(db, "ben")
    for user in (ana, ben):
        await add_member(db, community, user)
    conversation = await db.fetchval(
        """INSERT INTO family_connections (community_id, requester_id, addressee_id, status, last_seq, epoch)
           VALUES ($1, $2, $3, 'accepted', 7, 'e1') RETURNING id""",
        community, ana, ben,
    )  # fmt: skip
    await db.execute("UPDATE rooms SET last_seq = 3 WHERE community_id = $1", community)
    room_epoch = await db.fetchval("SELECT epoch FROM rooms WHERE community_id = $1", community)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        heads = await HeadReader(pool)([f"dm:{conversation}", "test-condition/main", "member:5", "dm:x"])
    finally:
        await pool.close()
    assert heads == {f"dm:{conversation}": ("e1", 7), "test-condition/main": (room_epoch, 3)}

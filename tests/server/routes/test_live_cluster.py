"""The live rooms on a real Redis Cluster across two processes: a master killed mid-conversation loses nothing acked."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from server.settings import Settings
from tests.chat_member import ChatMember
from tests.factories import add_member, create_community, create_session, create_user
from tests.harness import web_processes
from tests.redis_cluster import LocalCluster

pytestmark = pytest.mark.slow

CLUSTER_ENV = {"KINDRED_REDIS_CLUSTER": "1", "KINDRED_READ_LIMIT_IP": "100000"}


def one_room_per_shard(cluster: LocalCluster, channel_prefix: str) -> list[str]:
    """Community slugs whose main rooms' channels live on three different masters."""
    slugs: dict[int, str] = {}
    number = 0
    while len(slugs) < 3:
        slug = f"cluster-{number}"
        slugs.setdefault(cluster.master_of(f"{channel_prefix}{slug}/main").port, slug)
        number += 1
    return list(slugs.values())


async def stored(db: asyncpg.Connection, slug: str) -> dict[int, str]:
    rows = await db.fetch(
        """SELECT m.seq, m.body FROM room_messages m JOIN rooms r ON r.id = m.room_id
           JOIN communities c ON c.id = r.community_id WHERE c.slug = $1 AND r.slug = 'main' ORDER BY m.seq""",
        slug,
    )
    return {row["seq"]: row["body"] for row in rows}


async def test_a_master_killed_mid_conversation_loses_no_acked_message_and_every_client_catches_up(
    settings: Settings, db: asyncpg.Connection, tmp_path: Path, redis_cluster: LocalCluster
) -> None:
    settings = settings.with_overrides(redis_url=redis_cluster.url)
    slugs = one_room_per_shard(redis_cluster, settings.redis_prefix + "live:")
    sessions: dict[str, list[str]] = {}
    for slug in slugs:
        community = await create_community(db, slug, slug)
        sessions[slug] = []
        for number in range(4):
            user = await create_user(db, f"{slug}-m{number}")
            await add_member(db, community, user)
            sessions[slug].append(await create_session(db, user))
    with web_processes(settings, tmp_path, extra_env=CLUSTER_ENV) as processes:
        members = [
            ChatMember(processes[number % 2].ws_url, settings.site_origin, session, f"{slug}/main")
            for slug in slugs
            for number, session in enumerate(sessions[slug])
        ]
        for member in members:
            member.start()
        await asyncio.gather(*(member.until(member.joined, 20) for member in members))

        async def chat(member: ChatMember, start: int, count: int) -> None:
            for number in range(start, start + count):
                await member.say(f"{member.room} {member.session[:6]} {number}")
                await asyncio.sleep(0.05)

        await asyncio.gather(*(chat(member, 0, 5) for member in members))
        victim = redis_cluster.master_of(f"{settings.redis_prefix}live:{slugs[0]}/main")
        talking = asyncio.gather(*(chat(member, 5, 15) for member in members))
        await asyncio.sleep(0.2)
        victim.kill()  # mid-conversation
        await talking
        flushed = await asyncio.gather(*(member.flush() for member in members), return_exceptions=True)
        assert not any(flushed), [(member.pending, member.tally.errors) for member in members if member.pending]
        history = {slug: await stored(db, slug) for slug in slugs}
        await asyncio.gather(*(member.catch_up(max(history[member.room[:-5]])) for member in members))
        for member in members:
            await member.stop()
        logs = [web.log() for web in processes]

    for member in members:
        room = history[member.room[:-5]]
        # Every acked message is stored once with its acked seq, and nothing was lost meanwhile.
        assert len(member.acked) == len(member.sent) == 20
        assert {seq: member.sent[client_id] for client_id, seq in member.acked.items()}.items() <= room.items()
        assert member.got == room  # each client's history is Postgres's, seq for seq
        assert member.tally.duplicates == 0, [
            (n, f["type"], f.get("seq", f.get("head_seq", f.get("since"))), f.get("user_id")) for n, f in member.trace
        ]
    assert sum(len(room) for room in history.values()) == 20 * len(members)
    # The processes noticed the failover and told their clients the heads again (docs/protocol.md, rule 5).
    assert any(member.tally.announces for member in members if member.room.startswith(slugs[0]))
    assert not any("Traceback" in log for log in logs), logs

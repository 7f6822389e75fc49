"""The schema is owned by Alembic: it goes up, down to nothing, and up again cleanly."""

from __future__ import annotations

import asyncpg
import pytest

from server.db import migrate
from tests.harness import Services, drop_database, unique_name, with_database

EXPECTED_TABLES = {
    "users", "sessions", "communities", "community_proposals", "condition_sections", "section_revisions",
    "memberships", "threads", "posts", "post_revisions", "rooms", "room_messages", "room_members",
    "resources", "tips", "reactions", "flags", "moderation_actions", "sanctions", "notifications",
    "notification_preferences", "community_invites", "join_requests",
    "catalogue_conditions", "catalogue_symptoms", "catalogue_condition_symptoms",
    "catalogue_source", "community_conditions", "search_words", "search_word_trigrams",
    "family_facts", "family_connections", "conversation_messages", "person_blocks", "conversation_reports",
    "chat_proposals", "chat_proposal_quotes",
    "room_message_edits", "room_message_reactions",
}  # fmt: skip


async def _tables(url: str) -> set[str]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await connection.close()
    return {row["tablename"] for row in rows} - {"alembic_version"}


@pytest.fixture
async def empty_database_url(services: Services):
    name = unique_name("kindred_migrate")
    connection = await asyncpg.connect(services.database_url)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    yield with_database(services.database_url, name)
    await drop_database(services.database_url, name)


async def test_upgrade_downgrade_upgrade_round_trip(empty_database_url: str) -> None:
    # Alembic drives its own event loop, so it runs in a worker thread here.
    import asyncio

    await asyncio.to_thread(migrate.upgrade, empty_database_url)
    assert await _tables(empty_database_url) == EXPECTED_TABLES
    await asyncio.to_thread(migrate.downgrade, empty_database_url)
    assert await _tables(empty_database_url) == set()
    await asyncio.to_thread(migrate.upgrade, empty_database_url)
    assert await _tables(empty_database_url) == EXPECTED_TABLES


async def test_room_messages_are_unique_per_sequence_and_per_client_message_id(db: asyncpg.Connection) -> None:
    user = await db.fetchval("INSERT INTO users (username, display_name) VALUES ('sam', 'Sam') RETURNING id")
    community = await db.fetchval("INSERT INTO communities (slug, name) VALUES ('abc', 'Abc') RETURNING id")
    room = await db.fetchval(
        "INSERT INTO rooms (community_id, slug, name) VALUES ($1, 'main', 'Main') RETURNING id", community
    )
    insert = "INSERT INTO room_messages (room_id, seq, author_id, client_msg_id, body) VALUES ($1, $2, $3, $4, 'hi')"
    await db.execute(insert, room, 1, user, "c1")
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute(insert, room, 1, user, "c2")
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute(insert, room, 2, user, "c1")


async def test_audit_log_entries_cannot_be_edited_or_deleted(db: asyncpg.Connection) -> None:
    entry = await db.fetchval("INSERT INTO moderation_actions (action, reason) VALUES ('mute', 'rude') RETURNING id")
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await db.execute("UPDATE moderation_actions SET reason = 'nothing' WHERE id = $1", entry)
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await db.execute("DELETE FROM moderation_actions WHERE id = $1", entry)
    assert await db.fetchval("SELECT reason FROM moderation_actions WHERE id = $1", entry) == "rude"


async def test_resource_links_must_be_http_or_https(db: asyncpg.Connection) -> None:
    community = await db.fetchval("INSERT INTO communities (slug, name) VALUES ('abc', 'Abc') RETURNING id")
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            "INSERT INTO resources (community_id, kind, title, url) VALUES ($1, 'other', 'x', 'javascript:alert(1)')",
            community,
        )


async def test_search_by_thread_title_can_use_an_index(db: asyncpg.Connection) -> None:
    # The expression server/db/queries/search.py matches titles with; scans are switched off so the
    # plan shows whether an index can serve it at all (a tiny table is otherwise scanned anyway).
    await db.execute("SET enable_seqscan = off")
    plan = "\n".join(
        row[0]
        for row in await db.fetch(
            "EXPLAIN SELECT id FROM threads t WHERE to_tsvector('english', kindred_fold(t.title))"
            " @@ websearch_to_tsquery('english', 'seizures')"
        )
    )
    assert "threads_title_search" in plan


async def test_a_chat_proposal_as_a_resource_needs_its_kind_and_a_web_link(db: asyncpg.Connection) -> None:
    community = await db.fetchval("INSERT INTO communities (slug, name) VALUES ('abc', 'Abc') RETURNING id")
    room = await db.fetchval(
        "INSERT INTO rooms (community_id, slug, name) VALUES ($1, 'main', 'Main') RETURNING id", community
    )
    insert = (
        "INSERT INTO chat_proposals (community_id, room_id, kind, title, resource_kind, url)"
        " VALUES ($1, $2, $3, 'A registry', $4, $5)"
    )
    await db.execute(insert, community, room, "resource", "registry", "https://registry.example/")
    for kind, resource_kind, url in (
        ("resource", "registry", None),  # no link
        ("resource", None, "https://registry.example/"),  # no kind
        ("resource", "registry", "javascript:alert(1)"),  # not a web link
        ("resource", "rumour", "https://registry.example/"),  # not a resource's kind
        ("tip", "registry", "https://registry.example/"),  # a tip has neither
    ):
        with pytest.raises(asyncpg.CheckViolationError):
            await db.execute(insert, community, room, kind, resource_kind, url)

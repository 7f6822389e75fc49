"""The demo data: the CMS community as the issue describes it, loaded once however often it runs."""

from __future__ import annotations

import asyncpg

from server.demo import CMS_SLUG, load_demo_data


async def test_demo_data_loads_once_and_a_second_load_adds_nothing(db: asyncpg.Connection) -> None:
    assert await load_demo_data(db) is True
    counts = await db.fetchrow(
        "SELECT (SELECT count(*) FROM users) u, (SELECT count(*) FROM communities) c, (SELECT count(*) FROM posts) p"
    )
    assert await load_demo_data(db) is False
    again = await db.fetchrow(
        "SELECT (SELECT count(*) FROM users) u, (SELECT count(*) FROM communities) c, (SELECT count(*) FROM posts) p"
    )
    assert counts == again
    assert counts["c"] >= 3


async def test_demo_cms_community_has_its_sections_and_leaves_three_empty(db: asyncpg.Connection) -> None:
    await load_demo_data(db)
    community = await db.fetchrow("SELECT id, name FROM communities WHERE slug = $1", CMS_SLUG)
    assert community["name"] == "Congenital Myasthenic Syndromes"
    sections = {
        row["section"]: row["body_md"]
        for row in await db.fetch(
            "SELECT section, body_md FROM condition_sections WHERE community_id = $1", community["id"]
        )
    }
    for gene in ["CHRNE", "RAPSN", "CHAT", "COLQ", "DOK7"]:
        assert gene in sections["causes"]
    assert "presynaptic" in sections["causes"] and "postsynaptic" in sections["causes"]
    assert "repetitive CMAP" in sections["diagnosis"]
    assert "3,4-diaminopyridine" in sections["treatments"] and "ephedrine" in sections["treatments"]
    assert "quinidine or fluoxetine" in sections["treatments"]
    assert {"diagnostic_tests", "synonyms", "references"}.isdisjoint(sections)


async def test_demo_has_a_leader_a_registry_and_a_first_connection_introduction(db: asyncpg.Connection) -> None:
    await load_demo_data(db)
    assert (
        await db.fetchval(
            "SELECT count(*) FROM memberships m JOIN communities c ON c.id = m.community_id WHERE c.slug = $1 AND role = 'leader'",
            CMS_SLUG,
        )
        == 1
    )
    assert await db.fetchval("SELECT count(*) FROM resources WHERE kind = 'registry'") == 1
    intro = await db.fetchrow("SELECT title, intro FROM threads WHERE kind = 'introduction'")
    assert intro["title"] == "My first connection: CMS"
    assert intro["intro"]["diagnosis"] == "CMS, CHRNE"
    assert await db.fetchval("SELECT count(*) FROM rooms WHERE is_main") == await db.fetchval(
        "SELECT count(*) FROM communities"
    )


async def test_demo_data_loaded_before_the_catalogue_gets_its_conditions_on_the_next_start(
    db: asyncpg.Connection,
) -> None:
    from server.demo import CMS_CODES
    from tests.factories import load_catalogue

    assert await load_demo_data(db)
    await db.execute("DELETE FROM community_conditions")  # as in a data folder from before migration 0005's catalogue
    await load_catalogue(db, {"ORPHA:98913"})
    assert await load_demo_data(db) is False
    cms = await db.fetchval("SELECT id FROM communities WHERE slug = $1", CMS_SLUG)
    assert await db.fetchval("SELECT count(*) FROM community_conditions WHERE community_id = $1", cms) == len(CMS_CODES)
    assert await db.fetchval("SELECT catalogue_search @@ 'dok7' FROM communities WHERE id = $1", cms)

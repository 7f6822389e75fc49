"""Condition sections: the fixed order, the empty-section sentence, edits kept as revisions, who may edit."""

from __future__ import annotations

import asyncpg
import pytest

from server.actions import sections
from server.db.queries import communities, users
from server.errors import AppError
from server.i18n import set_request_locale
from tests.factories import create_cast, table_rows


async def _setup(db: asyncpg.Connection) -> tuple[dict[str, int], communities.Community]:
    cast = await create_cast(db)
    community = await communities.by_id(db, cast["community"])
    assert community is not None
    return cast, community


def test_sections_come_in_the_order_of_the_condition_page() -> None:
    assert sections.SECTION_KEYS == (
        "what_is_it",
        "causes",
        "symptoms",
        "diagnosis",
        "diagnostic_tests",
        "treatments",
        "prognosis",
        "synonyms",
        "acknowledgement",
        "references",
    )
    assert [sections.section_title(key) for key in sections.SECTION_KEYS][:2] == ["What is it", "Causes"]


def test_an_empty_section_says_so_in_the_readers_language() -> None:
    set_request_locale("en", "UTC")
    assert sections.empty_text("diagnostic_tests") == "Diagnostic tests has not been added yet."


def test_an_unknown_section_is_not_found() -> None:
    with pytest.raises(AppError) as missing:
        sections.check_section("gossip")
    assert missing.value.status == 404


async def test_a_leaders_edit_is_saved_and_kept_as_a_revision(db: asyncpg.Connection) -> None:
    cast, community = await _setup(db)
    leader = await users.by_id(db, cast["leader"])
    await sections.do_edit_section(db, leader, community, "causes", "First text", "start")
    revision = await sections.do_edit_section(db, leader, community, "causes", "  Second **text**\r\n", "")
    current = await sections.get_section(db, community, "causes")
    assert current is not None and current.body_md == "Second **text**"
    history = await sections.history(db, community, "causes")
    assert [(r.body_md, r.summary, r.author_username) for r in history] == [
        ("Second **text**", "", "leader"),
        ("First text", "start", "leader"),
    ]
    assert history[0].id == revision.id


async def test_a_site_admin_may_edit_any_community(db: asyncpg.Connection) -> None:
    cast, community = await _setup(db)
    admin = await users.by_id(db, cast["admin"])
    await sections.do_edit_section(db, admin, community, "references", "A reference", "added")
    assert (await sections.history(db, community, "references"))[0].author_username == "siteadmin"


@pytest.mark.parametrize("role", [None, "member", "other_leader", "banned", "muted", "outsider"])
async def test_no_one_but_leaders_and_admins_can_edit_a_section(db: asyncpg.Connection, role: str | None) -> None:
    cast, community = await _setup(db)
    user = await users.by_id(db, cast[role]) if role else None
    before = await table_rows(db, "condition_sections", "section_revisions")
    with pytest.raises(AppError) as refused:
        await sections.do_edit_section(db, user, community, "causes", "Vandalism", "")
    assert refused.value.status == (401 if role is None else 403)
    assert await table_rows(db, "condition_sections", "section_revisions") == before


async def test_too_long_a_section_or_summary_is_refused_with_its_field(db: asyncpg.Connection) -> None:
    cast, community = await _setup(db)
    leader = await users.by_id(db, cast["leader"])
    with pytest.raises(AppError) as body:
        await sections.do_edit_section(db, leader, community, "causes", "x" * 50_001, "")
    with pytest.raises(AppError) as summary:
        await sections.do_edit_section(db, leader, community, "causes", "fine", "y" * 301)
    assert (body.value.field, summary.value.field) == ("body", "summary")
    assert await db.fetchval("SELECT count(*) FROM section_revisions") == 0

"""Tips: members in good standing add them; leaders hide and unhide; hidden tips are for leaders' eyes only."""

from __future__ import annotations

import asyncpg
import pytest

from server.actions import tips
from server.db.queries import communities, users
from server.errors import AppError
from tests.factories import create_cast, table_rows


async def _setup(db: asyncpg.Connection) -> tuple[dict[str, int], communities.Community]:
    cast = await create_cast(db)
    community = await communities.by_id(db, cast["community"])
    assert community is not None
    return cast, community


async def test_a_member_adds_a_tip_that_everyone_sees(db: asyncpg.Connection) -> None:
    cast, community = await _setup(db)
    tip = await tips.do_add(db, await users.by_id(db, cast["member"]), community, "  Rest   first ", "Before meals.")
    assert (tip.name, tip.author_username, tip.hidden) == ("Rest first", "member", False)
    assert [t.id for t in await tips.list_for(db, None, community)] == [tip.id]


@pytest.mark.parametrize(
    ("name", "description", "field"),
    [
        ("", "text", "name"),
        ("n" * 121, "text", "name"),
        ("Name", "  ", "description"),
        ("Name", "d" * 2001, "description"),
    ],
)
async def test_a_tip_needs_a_short_name_and_a_description(
    db: asyncpg.Connection, name: str, description: str, field: str
) -> None:
    cast, community = await _setup(db)
    with pytest.raises(AppError) as refused:
        await tips.do_add(db, await users.by_id(db, cast["member"]), community, name, description)
    assert (refused.value.status, refused.value.field) == (400, field)
    assert await db.fetchval("SELECT count(*) FROM tips") == 0


async def test_the_longest_allowed_tip_is_accepted(db: asyncpg.Connection) -> None:
    cast, community = await _setup(db)
    tip = await tips.do_add(db, await users.by_id(db, cast["member"]), community, "n" * 120, "d" * 2000)
    assert len(tip.name) == 120 and len(tip.description) == 2000


@pytest.mark.parametrize(
    ("role", "status"), [(None, 401), ("outsider", 403), ("other_leader", 403), ("banned", 403), ("muted", 403)]
)
async def test_non_members_banned_and_muted_members_cannot_add_tips(
    db: asyncpg.Connection, role: str | None, status: int
) -> None:
    cast, community = await _setup(db)
    with pytest.raises(AppError) as refused:
        await tips.do_add(db, await users.by_id(db, cast[role]) if role else None, community, "Tip", "Text")
    assert refused.value.status == status
    assert await db.fetchval("SELECT count(*) FROM tips") == 0


async def test_a_leader_hides_a_tip_from_members_and_shows_it_again(db: asyncpg.Connection) -> None:
    cast, community = await _setup(db)
    member = await users.by_id(db, cast["member"])
    leader = await users.by_id(db, cast["leader"])
    tip = await tips.do_add(db, member, community, "Tip", "Text")
    hidden = await tips.do_set_hidden(db, leader, community, tip.id, hidden=True)
    assert hidden.hidden
    assert await db.fetchval("SELECT hidden_by FROM tips WHERE id = $1", tip.id) == cast["leader"]
    assert await tips.list_for(db, member, community) == []
    assert await tips.list_for(db, None, community) == []
    assert [t.id for t in await tips.list_for(db, leader, community)] == [tip.id]
    await tips.do_set_hidden(db, leader, community, tip.id, hidden=False)
    assert [t.id for t in await tips.list_for(db, member, community)] == [tip.id]
    log = await db.fetch("SELECT action, actor_id, target_kind, target_id FROM moderation_actions ORDER BY id")
    assert [tuple(row) for row in log] == [
        ("tip_hidden", cast["leader"], "tip", tip.id),
        ("tip_shown", cast["leader"], "tip", tip.id),
    ]


@pytest.mark.parametrize("role", [None, "member", "other_leader", "banned", "outsider"])
async def test_no_one_but_leaders_and_admins_can_hide_a_tip(db: asyncpg.Connection, role: str | None) -> None:
    cast, community = await _setup(db)
    tip = await tips.do_add(db, await users.by_id(db, cast["member"]), community, "Tip", "Text")
    before = await table_rows(db, "tips", "moderation_actions")
    with pytest.raises(AppError) as refused:
        await tips.do_set_hidden(
            db, await users.by_id(db, cast[role]) if role else None, community, tip.id, hidden=True
        )
    assert refused.value.status == (401 if role is None else 403)
    assert await table_rows(db, "tips", "moderation_actions") == before


async def test_a_tip_of_another_community_is_not_found(db: asyncpg.Connection) -> None:
    cast, community = await _setup(db)
    other = await communities.by_id(db, cast["other_community"])
    assert other is not None
    tip = await tips.do_add(db, await users.by_id(db, cast["member"]), community, "Tip", "Text")
    with pytest.raises(AppError) as missing:
        await tips.do_set_hidden(db, await users.by_id(db, cast["other_leader"]), other, tip.id, hidden=True)
    assert missing.value.status == 404
    assert await db.fetchval("SELECT hidden FROM tips WHERE id = $1", tip.id) is False

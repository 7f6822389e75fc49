"""Resources: checked fields (web links only), added, edited and removed by leaders and admins only."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest

from server.actions import resources
from server.db.queries import communities, users
from server.errors import AppError
from tests.factories import create_cast, table_rows


def _input(**changes: str) -> resources.ResourceInput:
    fields = {
        "kind": "registry",
        "title": "CMS registry",
        "description": "Record your diagnosis.",
        "url": "https://www.example.org/registry",
        "published_on": "2024-03-01",
    }
    fields.update(changes)
    return resources.check_resource(**fields)


def test_kinds_have_human_names() -> None:
    assert [resources.kind_label(kind) for kind in resources.KINDS] == [
        "Clinical trial",
        "Patient registry",
        "E-book",
        "Podcast",
        "Organisation",
        "Other",
    ]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://example.org/file",
        "file:///etc/passwd",
        "//example.org/no-scheme",
        "example.org",
        "https://",
        "https://exa mple.org",
        "https://example.org/\nx",
        "https://[::1",
        "",
    ],
)
def test_only_http_and_https_links_are_accepted(url: str) -> None:
    with pytest.raises(AppError) as refused:
        _input(url=url)
    assert refused.value.status == 400 and refused.value.field == "url"


def test_a_web_link_is_kept_as_typed() -> None:
    assert _input(url="  HTTP://example.org/a?b=c#d ").url == "HTTP://example.org/a?b=c#d"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "gossip"),
        ("title", "   "),
        ("title", "t" * 201),
        ("description", "d" * 4001),
        ("published_on", "1/3/24"),
    ],
)
def test_bad_fields_are_refused_with_their_name(field: str, value: str) -> None:
    with pytest.raises(AppError) as refused:
        _input(**{field: value})
    assert refused.value.field == field


def test_the_date_is_optional() -> None:
    assert _input(published_on="").published_on is None
    assert _input().published_on == date(2024, 3, 1)


async def test_a_leader_adds_edits_and_removes_a_resource(db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    community = await communities.by_id(db, cast["community"])
    leader = await users.by_id(db, cast["leader"])
    assert community is not None
    added = await resources.do_add(db, leader, community, _input())
    edited = await resources.do_edit(db, leader, community, added.id, _input(title="New title", kind="podcast"))
    assert (edited.title, edited.kind) == ("New title", "podcast")
    assert [r.id for r in await resources.list_for(db, community, "podcast")] == [added.id]
    assert await resources.list_for(db, community, "registry") == []
    await resources.do_remove(db, leader, community, added.id)
    assert await resources.list_for(db, community, None) == []
    entry = await db.fetchrow("SELECT action, actor_id, target_kind, target_id FROM moderation_actions")
    assert entry is not None and tuple(entry) == ("resource_removed", cast["leader"], "resource", added.id)
    with pytest.raises(AppError) as gone:
        await resources.do_remove(db, leader, community, added.id)
    assert gone.value.status == 404


async def test_a_leader_cannot_touch_another_communitys_resource(db: asyncpg.Connection) -> None:
    cast = await create_cast(db)
    community = await communities.by_id(db, cast["community"])
    other = await communities.by_id(db, cast["other_community"])
    assert community is not None and other is not None
    added = await resources.do_add(db, await users.by_id(db, cast["leader"]), community, _input())
    other_leader = await users.by_id(db, cast["other_leader"])
    before = await table_rows(db, "resources")
    # Through their own community, the resource simply does not exist there.
    with pytest.raises(AppError) as missing:
        await resources.do_edit(db, other_leader, other, added.id, _input(title="Hijacked"))
    with pytest.raises(AppError) as refused:
        await resources.do_remove(db, other_leader, community, added.id)
    assert (missing.value.status, refused.value.status) == (404, 403)
    assert await table_rows(db, "resources") == before


@pytest.mark.parametrize("role", [None, "member", "other_leader", "banned", "outsider"])
async def test_no_one_but_leaders_and_admins_manages_resources(db: asyncpg.Connection, role: str | None) -> None:
    cast = await create_cast(db)
    community = await communities.by_id(db, cast["community"])
    assert community is not None
    existing = await resources.do_add(db, await users.by_id(db, cast["admin"]), community, _input())
    user = await users.by_id(db, cast[role]) if role else None
    before = await table_rows(db, "resources", "moderation_actions")
    for attempt in (
        resources.do_add(db, user, community, _input()),
        resources.do_edit(db, user, community, existing.id, _input(title="Changed")),
        resources.do_remove(db, user, community, existing.id),
    ):
        with pytest.raises(AppError) as refused:
            await attempt
        assert refused.value.status == (401 if role is None else 403)
    assert await table_rows(db, "resources", "moderation_actions") == before

"""live.js keeps "who is here" right when presence snapshots and changes arrive out of order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.browser.fake_live import ROOM, deliver, live_page

pytestmark = pytest.mark.browser


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async with live_page(browser) as opened:
        yield opened


def user(user_id: int, name: str, badge: str | None = None) -> dict[str, Any]:
    return {"id": user_id, "username": name.lower(), "display_name": name, "badge": badge}


AMARA, LUCIA, CARLOS = user(1, "Amara", "leader"), user(2, "Lucía"), user(3, "Carlos")


def snapshot(version: int, *members: dict[str, Any]) -> dict[str, Any]:
    return {"type": "presence", "room": ROOM, "members": list(members), "version": version}


def change(
    version: int, joined: list[dict[str, Any]] | None = None, left: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"type": "presence_change", "room": ROOM, "version": version, "joined": joined or [], "left": left or []}


async def shown(page: Page) -> list[str]:
    return await page.locator("#presence li").all_inner_texts()


async def test_changes_update_the_list_without_a_member_list(page: Page) -> None:
    await deliver(page, snapshot(10, AMARA))
    assert await shown(page) == ["Amara leader"]
    await deliver(page, change(20, joined=[LUCIA]), change(30, joined=[CARLOS]))
    assert await shown(page) == ["Amara leader", "Carlos", "Lucía"]
    await deliver(page, change(40, left=[AMARA]))
    assert await shown(page) == ["Carlos", "Lucía"]


async def test_a_change_the_snapshot_already_includes_is_ignored(page: Page) -> None:
    await deliver(page, snapshot(10, AMARA, LUCIA))
    # Lucía left at 5 and came back before 10: the late news of her leaving must not hide her.
    await deliver(page, change(5, left=[LUCIA]), change(10, joined=[LUCIA]))
    assert await shown(page) == ["Amara leader", "Lucía"]


async def test_per_member_the_latest_change_wins_whatever_the_arrival_order(page: Page) -> None:
    await deliver(page, snapshot(10, AMARA))
    await deliver(page, change(30, left=[LUCIA]), change(20, joined=[LUCIA]))  # overtaken on the way
    assert await shown(page) == ["Amara leader"]
    await deliver(page, change(25, joined=[CARLOS]), change(35, left=[CARLOS]), change(32, joined=[CARLOS]))
    assert await shown(page) == ["Amara leader"]
    await deliver(page, change(50, joined=[LUCIA]))
    assert await shown(page) == ["Amara leader", "Lucía"]


async def test_changes_before_the_snapshot_are_applied_on_top_of_it(page: Page) -> None:
    # The room's news of Carlos arriving overtook the joiner's own snapshot, taken before it.
    await deliver(page, change(20, joined=[CARLOS]), change(8, joined=[LUCIA]))
    await deliver(page, snapshot(10, AMARA, LUCIA))
    assert await shown(page) == ["Amara leader", "Carlos", "Lucía"]
    # A newer snapshot (a reconnect) replaces the list; changes after it still count.
    await deliver(page, change(45, left=[AMARA]), snapshot(40, AMARA, LUCIA))
    assert await shown(page) == ["Lucía"]
    # An older snapshot than the one held changes nothing.
    await deliver(page, snapshot(30, CARLOS))
    assert await shown(page) == ["Lucía"]

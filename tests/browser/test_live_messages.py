"""live.js shows a member's held message as waiting, and as not approved once the leaders reject it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.fake_live import ROOM, deliver, live_page

pytestmark = pytest.mark.browser

ME = {"id": 1, "username": "noor", "display_name": "Noor", "badge": None}


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async with live_page(browser) as opened:
        yield opened


def held_message(seq: int, body: str) -> dict[str, Any]:
    return {
        "type": "message",
        "room": ROOM,
        "seq": seq,
        "epoch": "e1",
        "id": seq,
        "author": ME,
        "body": body,
        "created_at": "2026-11-25T02:00:00Z",
        "client_id": f"c{seq}",
        "held": True,
    }


async def test_my_held_message_waits_through_the_plain_remove_and_is_marked_when_rejected(page: Page) -> None:
    await deliver(page, {"type": "joined", "room": ROOM, "epoch": "e1", "head_seq": 0})
    await deliver(page, held_message(1, "Hello, we are new here"))
    mine = page.locator("#messages li", has_text="Hello, we are new here")
    await expect(mine).to_contain_text("waiting for review")
    # Everyone in the room gets a plain remove for a held message, its author included: it stays.
    await deliver(page, {"type": "remove", "room": ROOM, "seq": 1})
    await expect(mine).to_contain_text("waiting for review")
    # The leaders' decision: no longer waiting, marked as not approved.
    await deliver(page, {"type": "remove", "room": ROOM, "seq": 1, "rejected": True})
    await expect(mine).to_contain_text("not approved")
    await expect(mine).not_to_contain_text("waiting for review")

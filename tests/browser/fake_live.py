"""live.js in a real browser on a bare room page, with a WebSocket the test feeds frame by frame."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from playwright.async_api import Browser, Page

from tests.harness import ROOT

ROOM = "cms/main"

# Just what live.js needs of the room page, and a WebSocket that records instead of connecting,
# so the test decides which frame arrives when.
PAGE = """<!doctype html><html lang="en"><body>
<div id="live-room" data-room="cms/main" data-user-id="1" data-label-leader="leader"
  data-label-review="waiting for review" data-label-rejected="not approved">
  <p id="live-status"></p><ul id="messages"></ul><ul id="presence"></ul><p id="typing"></p>
</div></body></html>"""

FAKE_SOCKET = """
window.sockets = [];
window.WebSocket = function (url) {
  var self = this;
  this.url = url;
  this.readyState = 0;
  window.sockets.push(this);
  setTimeout(function () { self.readyState = 1; if (self.onopen) self.onopen(); }, 0);
};
window.WebSocket.OPEN = 1;
window.WebSocket.prototype.send = function () {};
window.WebSocket.prototype.close = function () {};
window.deliver = function (frame) {
  window.sockets[window.sockets.length - 1].onmessage({ data: JSON.stringify(frame) });
};
"""


@contextlib.asynccontextmanager
async def live_page(browser: Browser) -> AsyncIterator[Page]:
    """A bare room page running the real live.js; fails if the page raised a script error."""
    context = await browser.new_context()
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    await opened.set_content(PAGE)
    await opened.add_script_tag(content=FAKE_SOCKET)
    await opened.add_script_tag(content=(ROOT / "static" / "js" / "socket.js").read_text())
    await opened.add_script_tag(content=(ROOT / "static" / "js" / "live.js").read_text())
    await opened.wait_for_function("window.sockets.length === 1 && window.sockets[0].readyState === 1")
    yield opened
    await context.close()
    assert errors == []


async def deliver(page: Page, *frames: dict[str, Any]) -> None:
    for frame in frames:
        await page.evaluate(f"window.deliver({json.dumps(frame)})")

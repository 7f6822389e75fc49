"""Browser fixtures: Debian's Chromium driven by Playwright, axe-core from npm, real web processes."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, BrowserContext, Dialog, Page, async_playwright

from server.demo import load_demo_data
from server.settings import Settings
from tests.harness import ROOT, WebProcess, web_processes

CHROMIUM = Path(os.environ.get("KINDRED_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE_VERSION = "4.14.1"
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"


def _missing(message: str) -> None:
    """Under CI a missing browser is a failure; on a developer's machine the browser tests are skipped."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        _missing(
            "Chromium not found at /usr/bin/chromium: install it with `sudo apt-get install chromium` to run the browser tests."
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core, installed from the npm registry once into test-artifacts/ (ignored by git)."""
    target = ARTIFACTS / "node"
    script = target / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            _missing("npm not found: install Node.js and npm to run the accessibility checks.")
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm or "npm",
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(target),
                f"axe-core@{AXE_VERSION}",
            ],
            check=True,
            timeout=300,
        )
    return script.read_text()


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_FLAGS, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def demo_db(db: asyncpg.Connection) -> asyncpg.Connection:
    """This test's database with the demo communities and accounts."""
    await load_demo_data(db)
    return db


@pytest.fixture
def site(settings: Settings, demo_db: asyncpg.Connection, tmp_path: Path) -> Iterator[list[WebProcess]]:
    """Two separate web processes (the Procfile's command) on this test's Postgres and Redis."""
    with web_processes(settings, tmp_path, count=2, own_origin=True) as webs:
        yield webs


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


async def signed_in_context(browser: Browser, web: WebProcess, session: str, **options: object) -> BrowserContext:
    """A browser context holding a member's session cookie for that process."""
    context = await browser.new_context(**options)  # type: ignore[arg-type]
    await context.add_cookies(
        [{"name": "kindred_session", "value": session, "url": web.base_url, "httpOnly": True, "sameSite": "Lax"}]
    )
    return context


@dataclass
class Watched:
    """What went wrong in a browser context: script errors, console errors, and every dialog that opened."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


def watch(context: BrowserContext) -> Watched:
    """Record errors and dialogs of every page of the context (dialogs are answered so nothing hangs)."""
    watched = Watched()

    async def on_dialog(dialog: Dialog) -> None:
        watched.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    context.on("dialog", on_dialog)
    context.on("weberror", lambda error: watched.errors.append(f"script error: {error.error}"))
    context.on(
        "console",
        lambda message: watched.errors.append(f"console: {message.text}") if message.type == "error" else None,
    )
    return watched


async def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the window (more than 0: sideways scrolling)."""
    return int(await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))

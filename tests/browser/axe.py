"""Run axe-core inside a page and return its serious and critical violations."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page


async def serious_violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    # Injected as a script element's text through Playwright (CDP), not as page inline script,
    # so the page's strict Content-Security-Policy stays as it is for everything else.
    await page.evaluate(axe_source)
    result: dict[str, Any] = await page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in {"serious", "critical"}
    ]

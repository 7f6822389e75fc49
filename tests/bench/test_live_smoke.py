"""The live benchmark runs end to end at a tiny size and every subscriber gets every message (no timing checked)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from bench._docs import HEADING, render, replace_section
from tests.harness import ROOT, Services


@pytest.mark.slow
async def test_the_live_benchmark_delivers_every_message_to_every_subscriber_on_both_systems(
    services: Services, database_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    out = tmp_path / "live.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.live",
        "--systems=ceiling,kindred",
        "--many-rooms=10",
        "--many-members=2",
        "--many-rates=10",
        "--clients=20",
        "--rates=5,10",
        "--reference-rate=10",
        "--duration=2",
        "--idle-sockets=40",
        "--workers=1",
        "--refine=0",
        "--profile=never",
        "--drain-timeout=30",
        f"--database-url={database_url}",
        f"--redis-url={services.redis_url}",
        f"--redis-prefix={redis_prefix}",
        f"--json-out={out}",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 300)
    assert process.returncode == 0, output.decode(errors="replace")[-4000:]
    results = json.loads(out.read_text())

    assert set(results["systems"]) == {"ceiling", "kindred"}
    for name, system in results["systems"].items():
        assert system["join"]["open"] == 20, (name, system["join"])
        assert system["idle"]["open"] == 40, (name, system["idle"])
        assert [step["rate"] for step in system["steps"]] == [5.0, 10.0], name
        for step in system["steps"]:
            assert step["subscribers"] == 20, (name, step)
            assert step["expected"] == step["messages"] * 20 > 0, (name, step)
            assert step["received"] == step["expected"], (name, step)
            assert (step["loss"], step["duplicates"], step["closed"], step["refused"]) == (0, 0, 0, {}), (name, step)
            assert step["p99_ms"] is not None
    assert len(results["targets"]) == 3
    for name, system in results["systems"].items():
        many = system["many_rooms"]
        assert many["open"] == 20 and many["steps"], (name, many)
        assert all(step["received"] == step["expected"] > 0 for step in many["steps"]), (name, many)
    assert results["cluster"]["steps"] and all(step["loss"] == 0 for step in results["cluster"]["steps"])
    section = render(results)
    assert section.startswith(HEADING) and "### Targets" in section and "### Fan-out: kindred" in section


def test_writing_the_live_rooms_section_keeps_the_other_sections() -> None:
    document = "# Benchmarks\n\n## Pages\n\npages figures\n\n## Live rooms\n\nold figures\n\n## Later\n\nkept\n"
    updated = replace_section(document, "## Live rooms\n\nnew figures\n")
    assert "## Pages\n\npages figures" in updated
    assert "new figures" in updated and "old figures" not in updated
    assert updated.rstrip().endswith("## Later\n\nkept")
    assert replace_section("# Benchmarks\n", "## Live rooms\n\nx\n") == "# Benchmarks\n\n## Live rooms\n\nx\n"

"""The live benchmark runs end to end at a tiny size and every subscriber gets every message (no timing checked)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import _setup, live
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


async def _one_step(system: live.System, rate: float) -> dict[str, Any]:
    """Start the system, join its subscribers, run one step of a second at rate, stop it."""
    try:
        await system.start()
        await system.join_subscribers()
        return await system.step(rate, 1.0)
    finally:
        await system.stop()


@pytest.mark.slow
async def test_a_second_run_on_a_kept_postgres_delivers_every_message_and_a_reused_client_id_is_reported(
    services: Services, database_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    # Issue 17: the cluster figure once re-ran Kindred on the single-Redis run's Postgres; its publisher's client ids
    # ("b<step>-<index>") started again at b1-0, the server took every send for a retry of a stored message, acked it
    # with the old seq and sent nothing, and the subscribers got nothing.
    config = live.Config(clients=4, workers=1, drain_timeout=5.0, redis_prefix=redis_prefix)
    seeded = await _setup.seed(database_url, subscribers=4, idle=0, hide_presence=True)
    urls = {"database": database_url, "redis": services.redis_url, "redis_pid": "", "pgdata": ""}
    first = live.System("kindred", config, seeded, urls, tmp_path)
    before = await _one_step(first, 10)
    assert (before["loss"], before["refused"]) == (0, {}), before

    second = live.System("kindred", config, seeded, urls, tmp_path)  # the same Postgres, its room's history kept
    try:
        await second.start()
        await second.join_subscribers()
        again = await second.step(10, 1.0)
        assert again["expected"] == 10 * 4 and (again["loss"], again["refused"]) == (0, {}), again
        # The first run's very client ids (with other words): the server now refuses each (bad_request, it once
        # acked them with the old seq); none delivered, and the step says why.
        second.publishers[0].run = first.publishers[0].run
        second.step_id = 0
        reused = await second.step(10, 1.0)
    finally:
        await second.stop()
    assert reused["loss"] == reused["expected"] == 10 * 4, reused
    assert reused["refused"] == {"bad_request": 10} and not reused["pass"], reused


def test_writing_the_live_rooms_section_keeps_the_other_sections() -> None:
    document = "# Benchmarks\n\n## Pages\n\npages figures\n\n## Live rooms\n\nold figures\n\n## Later\n\nkept\n"
    updated = replace_section(document, "## Live rooms\n\nnew figures\n")
    assert "## Pages\n\npages figures" in updated
    assert "new figures" in updated and "old figures" not in updated
    assert updated.rstrip().endswith("## Later\n\nkept")
    assert replace_section("# Benchmarks\n", "## Live rooms\n\nx\n") == "# Benchmarks\n\n## Live rooms\n\nx\n"

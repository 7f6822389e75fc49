"""The soak runs end to end for a few seconds and its checks pass; its own bookkeeping catches what it must."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from websockets.asyncio.client import ClientConnection

from bench import soak
from tests.harness import ROOT, Services


@pytest.mark.slow
async def test_a_short_soak_loses_and_doubles_nothing_and_leaves_every_process_at_its_baseline(
    services: Services, database_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    out = tmp_path / "soak.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.soak",
        "--seconds=8",
        "--clients=12",
        "--rooms=3",
        "--sample-every=2",
        "--think=0.2,0.8",
        "--life=1,3",
        "--seed=16",
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

    assert all(results["checks"].values()), results["checks"]
    tally = results["tally"]
    # The members did what a soak is for: sent, dropped connections and came back.
    assert tally["sends"] > 0 and results["acked"] == results["stored"]["stored"] >= tally["sends"]
    assert tally["connections"] > 12 and tally["aborts"] > 0 and tally["rejoins"] + tally["leaves"] > 0
    assert tally["duplicates"] == tally["below_since"] == results["lost_in_views"] == 0
    samples = results["samples"]
    assert [sample["phase"] for sample in samples][:2] == ["baseline", "load"] and samples[-1]["phase"] == "after"
    for sample in samples:
        assert len(sample["processes"]) == 2
        assert all(process["rss_mib"] > 0 and process["tasks"] > 0 for process in sample["processes"])
    # Under load the processes held sockets; after, none, and their tasks are back.
    assert max(sum(p["kindred_open_sockets"] for p in sample["processes"]) for sample in samples) > 0
    assert [p["kindred_open_sockets"] for p in results["after"]["processes"]] == [0, 0]
    assert results["after"]["back_to_baseline"] == [True, True]
    assert soak.render(results).startswith(soak.HEADING)


def _member() -> soak.Member:
    return soak.Member(0, "token", ["a/main", "b/main"], ["ws://unused"], soak.Config(), soak.Acks())


def _joined(member: soak.Member, room: str, head: int, since: int | None) -> None:
    view = member.views.setdefault(room, soak.RoomView())
    view.joining.append(since)
    member.on_frame({"type": "joined", "room": room, "epoch": "e1", "head_seq": head})


def _message(member: soak.Member, room: str, seq: int) -> None:
    member.on_frame({"type": "message", "room": room, "seq": seq})


def test_a_view_counts_a_seq_twice_on_one_connection_as_a_duplicate_and_one_below_since_too() -> None:
    member = _member()
    _joined(member, "a/main", head=5, since=None)
    for seq in (4, 5, 6, 7, 7):
        _message(member, "a/main", seq)
    assert member.tally.history == 2 and member.tally.duplicates == 1
    _joined(member, "a/main", head=7, since=7)
    _message(member, "a/main", 6)  # at or below the since of the join it follows
    assert member.tally.below_since == 1 and member.views["a/main"].last_seq == 7


def test_a_view_keeps_a_gap_until_a_resume_fills_it_and_counts_what_is_missing() -> None:
    member = _member()
    _joined(member, "a/main", head=2, since=None)
    _message(member, "a/main", 3)
    _message(member, "a/main", 5)
    view = member.views["a/main"]
    assert view.last_seq == 3 and view.held == {5} and view.gap_at is not None
    assert member.lost({"a/main": 6}) == 3
    # The resume from last_seq replays 4 and 5 (5 again, from another join: dropped, not a duplicate) and 6.
    _joined(member, "a/main", head=6, since=3)
    for seq in (4, 5, 6):
        _message(member, "a/main", seq)
    assert view.last_seq == 6 and not view.held and view.gap_at is None
    assert member.tally.duplicates == 0 and member.tally.redelivered == 1 and member.lost({"a/main": 6}) == 0


def test_an_ack_for_a_client_id_at_another_seq_is_counted() -> None:
    member = _member()
    member.on_frame({"type": "ack", "client_id": "c1", "room": "a/main", "seq": 3})
    member.on_frame({"type": "ack", "client_id": "c1", "room": "a/main", "seq": 3})
    assert member.tally.ack_mismatches == 0
    member.on_frame({"type": "ack", "client_id": "c1", "room": "a/main", "seq": 4})
    assert member.tally.ack_mismatches == 1


def _samples(rss: list[float]) -> list[dict[str, Any]]:
    return [
        {"phase": "load", "load_t": float(index * 10), "processes": [{"rss_mib": value}]}
        for index, value in enumerate(rss)
    ]


def test_memory_is_judged_flat_within_five_per_cent_and_growing_past_it() -> None:
    config = soak.Config(seconds=100.0, warmup=0.2)
    # The first two samples (the warm-up) do not count.
    flat = soak.judge_memory(_samples([40, 50, 60, 60.5, 61, 60, 61.5, 62, 62.5, 62]), config, 1)[0]
    assert flat["judged"] and flat["flat"] and flat["first_third_mib"] == 60.25
    growing = soak.judge_memory(_samples([40, 50, 60, 61, 62, 63, 64, 65, 66, 67]), config, 1)[0]
    assert growing["judged"] and growing["flat"] is False and growing["slope_mib_per_min"] > 0
    short = soak.judge_memory(_samples([60, 61, 62]), config, 1)[0]
    assert short["judged"] is False and short["flat"] is None


async def test_a_join_refused_as_unavailable_is_asked_again_after_a_pause() -> None:
    # The 10-minute run's final burst of joins (every member resuming every room at once) met a full
    # database pool: 10 joins answered `unavailable`, which a client retries; the soak's did not.
    member = _member()
    member.current = ["a/main"]
    member.websocket = cast(ClientConnection, object())  # only compared: the frames stay in the outbox
    member._send_join("a/main")
    member.on_frame({"type": "error", "code": "unavailable", "ref": "a/main", "message": "busy"})
    assert not member.views["a/main"].joining
    await asyncio.sleep(1.2)
    assert member.tally.join_retries == 1
    sent = [json.loads(member.outbox.get_nowait()) for _ in range(member.outbox.qsize())]
    assert [frame["type"] for frame in sent] == ["join", "join"] and sent[1]["room"] == "a/main"
    member._send_join("a/main")
    member.on_frame({"type": "error", "code": "not_found", "ref": "a/main", "message": "no"})
    await asyncio.sleep(1.2)
    assert member.tally.join_retries == 1  # not_found is not asked again

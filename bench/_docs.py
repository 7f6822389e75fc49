"""Writes the "## Live rooms" section of docs/benchmarks.md from a bench/live.py result, leaving other sections alone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bench._setup import ROOT

DOC = ROOT / "docs" / "benchmarks.md"
HEADING = "## Live rooms"

# Under the cluster figure (written by hand once, kept by every --write-docs).
CLUSTER_NOTE = (
    "**Why this run has its own Postgres (issue 17).** An earlier version re-ran Kindred here on the "
    "single-Redis run's Postgres: every send was acked and no subscriber got anything, with no error and "
    "no resync. The bench caused it, not the new Redis: its publisher named messages `b<step>-<index>`, "
    "numbered from the start again in the new run, and a `send` whose `client_id` that member already "
    "stored is a retry ([`send`](protocol.md#send)), acked with the stored message's seq and sent to "
    "nobody. The publisher now puts a token of its own in every id and counts an ack at or below the "
    "room's head at its join as `ack_of_an_earlier_message`, which fails the step; and the server now "
    "refuses a stored `client_id` with other words (`bad_request`) instead of acking it, so such a "
    "client is told. "
    "`tests/server/routes/test_live_redis_replaced.py` shows members getting every message over a kept "
    "history on a new Redis or a new cluster, after a FLUSHALL and after Redis restarts empty. The "
    "cluster run keeps a fresh Postgres so that its subscribers join an empty room, as the single-Redis "
    "ones did."
)

HEADER = "# Benchmarks\n\nFigures from the benchmarks in `bench/`, each with the machine it ran on.\n"
# Hand-written findings between these markers survive a re-run with --write-docs.
ANALYSIS_START = "<!-- live-analysis -->"
ANALYSIS_END = "<!-- /live-analysis -->"


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return lines


def render(results: dict[str, Any], analysis: str | None = None) -> str:
    machine = results["machine"]
    config = results["config"]
    lines = [
        HEADING,
        "",
        f'Run {results["started_at"]} with `{results["command"]}` (`make bench-live BENCH_ARGS="…"`).',
        "",
        f"Machine: {machine['nproc']} CPUs ({machine['cpu_model']}), {machine['ram_gib']} GiB RAM, "
        f"Python {machine['python']}, Linux {machine['kernel']}. Everything ran on this one machine, on loopback: "
        "Postgres, Redis, both server processes of the system under test, the client processes and the publisher.",
        "",
        "How it runs: for each system, two server processes started with the Procfile's uvicorn command "
        "(uvloop, httptools, and Kindred's lean websocket protocol `channels/websocket_protocol.py`) share one Redis. "
        f"{config['clients']:,} subscribers join one room, half on each process, held by {config['workers']} "
        "picows/uvloop client processes; "
        + (
            "one publisher"
            if config.get("publishers", 1) == 1
            else f"{config['publishers']} publishers sharing the rate"
        )
        + " (a community leader, so no message rate limit; slow mode off) "
        f"on the first process sends at rising rates for {config['duration']:g} s per step. Each subscriber must get "
        "every message (loss = expected − received); latency is the publisher's send time, carried in the message "
        "body, to the subscriber's receive time (CLOCK_MONOTONIC, shared by all processes). A step passes with no loss, "
        f"no duplicate, no closed socket, and p99 under 100 ms. The systems take turns at each rate (so background "
        f"load hits both alike) until a step fails at or above {config['reference_rate']:g} msg/s, then "
        f"{config['refine']} bisection steps narrow the highest passing rate. "
        f"Fan-out subscribers' presence: {config['presence']}. "
        "The *ceiling* (`bench/ceiling_app.py`) is a minimal Starlette app with the same Redis hop "
        "(publish on send, one subscriber per process, a queue and writer task per socket) and no persistence, "
        "auth, presence or history. Kindred commits every message in Postgres (fsync on) before acknowledging and "
        "publishing it.",
        "",
        f"Written {results['started_at']}; unless this run was on an otherwise idle machine, the machine was shared "
        "with other work (see the *other work* columns).",
        "",
        _noise(results),
        "",
        "### Targets",
        "",
    ]
    rows = [
        [
            target["target"],
            target["kindred"],
            target["ceiling"],
            target["ratio"],
            "pass" if target["pass"] else "**miss**",
        ]
        for target in results["targets"]
    ]
    target_header = f"Target ({machine['nproc']} cores, {config['clients']:,} subscribers)"
    lines += _table([target_header, "Kindred", "Ceiling", "Ratio", "Result"], rows)
    comparison = results.get("comparison")
    if comparison:
        lines += [
            "",
            "### Kindred beside the ceiling and its peers",
            "",
            "Same run, same picows client, same room and rates. *socketio* is python-socketio "
            "(`AsyncServer` + `AsyncRedisManager`, `bench/peers/socketio_app.py`; the client speaks Engine.IO v4 "
            "framing, `bench/engineio.py`); *channels* is Django Channels with channels_redis's "
            "`RedisPubSubChannelLayer` (`bench/peers/channels_app.py`; documented as the faster layer). Both run "
            "under uvicorn (uvloop, httptools, websockets), two processes sharing the Redis, each in its own venv "
            "under `bench/.work` pinned by `bench/peers/<name>.txt`. Neither persists anything.",
            "",
        ]
        lines += _table(
            [
                "system",
                "sustained deliveries/s",
                "at msg/s",
                f"p99 ms at {config['reference_rate']:g} msg/s",
                "Kindred ÷ system (deliveries/s)",
                "Kindred ÷ system (p99)",
            ],
            [
                [
                    row["system"],
                    _sustained_cell(row),
                    row["at_rate"],
                    row["p99_ms_at_reference"],
                    row["kindred_ratio"],
                    row["kindred_p99_ratio"],
                ]
                for row in comparison
            ],
        )
    for name, system in results["systems"].items():
        lines += ["", f"### Fan-out: {name}", ""]
        join = system.get("join")
        if join:
            lines += [
                f"Joining {join['subscribers']:,} subscribers took {join['seconds']:g} s "
                f"({_outcomes(join['outcomes'])}); they received {join['bytes_during_join']:,} bytes meanwhile "
                f"({_frames(join['frames_during_join'])}).",
                "",
            ]
        step_rows = [
            [
                f"{step['rate']:g}" + (" (bisect)" if step.get("refinement") else ""),
                step["subscribers"],
                step["delivered_per_s"],
                step["loss"],
                step["p50_ms"],
                step["p99_ms"],
                step["max_ms"],
                f"{_cell(step['ack_p50_ms'])} / {_cell(step['ack_p99_ms'])}",
                " / ".join(f"{value:g}" for value in step["server_cpu_pct"]),
                step.get("server_cpu_us_per_delivery"),
                step.get("other_cpu_pct"),
                "pass" if step["pass"] else "miss",
            ]
            for step in system.get("steps", [])
        ]
        lines += _table(
            [
                "msg/s",
                "subscribers",
                "delivered/s",
                "loss",
                "p50 ms",
                "p99 ms",
                "max ms",
                "ack p50 / p99 ms",
                "server CPU % (each)",
                "server CPU µs per delivery",
                "other work on the machine, CPU %",
                "step",
            ],
            step_rows,
        )
    many = {name: system["many_rooms"] for name, system in results["systems"].items() if system.get("many_rooms")}
    if many:
        first = next(iter(many.values()))
        lines += [
            "",
            "### Many rooms",
            "",
            f"{first['rooms']:,} rooms × {first['members']} members (each its own community; members alternate between "
            "the two processes, so every room spans both), the same client processes; one leader in every room sends "
            "at a rising total rate, message i to room i mod rooms, until a step misses, "
            + (
                "from one socket on the first process"
                if config.get("many_publishers", 1) == 1
                else f"from {config['many_publishers']} sockets alternating between the processes"
            )
            + ". Delivered/s counts every member's copy.",
            "",
        ]
        many_rows = [
            [
                name,
                entry["open"],
                f"{step['rate']:g}",
                step["delivered_per_s"],
                step["loss"],
                step["p50_ms"],
                step["p99_ms"],
                " / ".join(f"{value:g}" for value in step["server_cpu_pct"]),
                step.get("other_cpu_pct"),
                "pass" if step["pass"] else "miss",
            ]
            for name, entry in many.items()
            for step in entry["steps"]
        ]
        lines += _table(
            [
                "system",
                "sockets",
                "total msg/s",
                "delivered/s",
                "loss",
                "p50 ms",
                "p99 ms",
                "server CPU % (each)",
                "other work, CPU %",
                "step",
            ],
            many_rows,
        )
    cluster = results.get("cluster")
    if cluster:
        lines += [
            "",
            "### Redis Cluster",
            "",
            "Kindred again, after the single-Redis run, on a private Redis Cluster (`bench/redis_cluster.py`: "
            "3 masters with a replica each, Debian's redis-server 7, sharded pub/sub), same subscribers and client:",
            "",
        ]
        cluster_rows = []
        for step, single in zip(cluster["steps"], cluster["single"], strict=False):
            cluster_rows.append(
                [
                    f"{step['rate']:g}",
                    single["delivered_per_s"] if single else None,
                    single["p99_ms"] if single else None,
                    step["delivered_per_s"],
                    step["p99_ms"],
                    step["loss"],
                    "pass" if step["pass"] else "miss",
                ]
            )
        lines += _table(
            [
                "msg/s",
                "single Redis delivered/s",
                "single Redis p99 ms",
                "cluster delivered/s",
                "cluster p99 ms",
                "cluster loss",
                "cluster step",
            ],
            cluster_rows,
        )
        lines += ["", CLUSTER_NOTE]
    lines += ["", "### Memory per idle socket", ""]
    idle_rows = []
    for name, system in results["systems"].items():
        idle = system.get("idle")
        if idle:
            idle_rows.append(
                [
                    name,
                    idle["open"],
                    " / ".join(f"{value:g}" for value in idle["rss_before_mib"]),
                    " / ".join(f"{value:g}" for value in idle["rss_after_mib"]),
                    idle["kib_per_socket"],
                    idle["connect_seconds"],
                ]
            )
    if idle_rows:
        lines += [
            "Each idle socket is a signed-in member who joined the main room of one of many 100-member communities "
            "(presence visible) and then sent nothing. RSS of the two server processes before and after, after a "
            "warm-up round of 200 sockets:",
            "",
        ]
        lines += _table(
            ["system", "open sockets", "RSS before (MiB)", "RSS after (MiB)", "KiB per socket", "connect s"],
            idle_rows,
        )
    else:
        lines.append("Not measured in this run (`--idle-sockets 0`).")
    profile = results["systems"].get("kindred", {}).get("profile")
    if profile:
        base = results["systems"].get("ceiling", {}).get("profile")
        lines += [
            "",
            "### Where Kindred's time goes",
            "",
            f"py-spy (`record --nonblocking --rate 200 --nolineno --format raw`) on both server processes during a "
            f"{profile['rate']:g} msg/s step ({_step_summary(profile['step'])}); the Kindred processes were not idle "
            f"(running, or waiting for a CPU) in {profile['busy_pct_of_wall']:g} % of the samples. Shares are of those "
            "samples. Native code shows up as the own time of the Python function that called it: `Runner.run` is "
            "uvloop's own loop (polling, reading sockets, running callbacks), and the socket writes are inside "
            "`WebSocketsSansIOProtocol.send` (uvicorn's `transport.write`)."
            + (
                f" The ceiling at the same rate: {_step_summary(base['step'])}, not idle in "
                f"{base['busy_pct_of_wall']:g} % of the samples."
                if base
                else ""
            ),
            "",
            "Own time by file:",
            "",
        ]
        lines += _table(["Kindred: file", "%"], [[name, pct] for name, pct in profile["own_by_file"]])
        if base:
            lines += [""]
            lines += _table(["Ceiling: file", "%"], [[name, pct] for name, pct in base["own_by_file"]])
        lines += ["", "Kindred, own time by function:", ""]
        lines += _table(["function", "%"], [[f"`{name}`", pct] for name, pct in profile["top_own"]])
        lines += ["", "Kindred, including callees (the call chain of the hot path):", ""]
        lines += _table(["function", "%"], [[f"`{name}`", pct] for name, pct in profile["top_inclusive"]])
    if analysis:
        lines += ["", ANALYSIS_START, analysis.strip(), ANALYSIS_END]
    return "\n".join(lines) + "\n"


def _sustained_cell(row: dict[str, Any]) -> object:
    """The sustained figure, or, when no step passed, what the lowest rate tried gave."""
    lowest = row.get("lowest_step")
    if not row["sustained_per_s"] and lowest:
        return (
            f"none passed (at {lowest['rate']:g} msg/s: {lowest['delivered_per_s']:,.0f}/s, "
            f"loss {lowest['loss']}, p99 {lowest['p99_ms']:g} ms)"
        )
    return row["sustained_per_s"]


def _noise(results: dict[str, Any]) -> str:
    """How busy the rest of the machine was: the figures mean little if other work took the CPUs."""
    others = [
        step["other_cpu_pct"]
        for system in results["systems"].values()
        for step in system.get("steps", [])
        if step.get("other_cpu_pct") is not None
    ]
    if not others:
        return ""
    others.sort()
    return (
        f"Other work on the machine (not the bench) used {others[len(others) // 2]:g} % CPU in the median step "
        f"(from {others[0]:g} to {others[-1]:g} %, of {results['machine']['nproc'] * 100} %): "
        "with that much contention the fan-out figures move from run to run; the memory figures do not."
    )


def _step_summary(step: dict[str, Any]) -> str:
    return (
        f"{step['delivered_per_s']:,.0f} deliveries/s, p99 {_cell(step['p99_ms'])} ms, "
        f"server CPU {' / '.join(f'{value:g}' for value in step['server_cpu_pct'])} %"
    )


def _outcomes(outcomes: dict[str, int]) -> str:
    return ", ".join(f"{count:,} {name}" for name, count in sorted(outcomes.items(), key=lambda item: -item[1]))


def _frames(frames: dict[str, int]) -> str:
    if not frames:
        return "no frames"
    return ", ".join(f"{count:,} {name} frames" for name, count in sorted(frames.items(), key=lambda item: -item[1]))


def replace_section(document: str, section: str, heading: str = HEADING) -> str:
    """document with its `heading` section (up to the next "## " heading) replaced by section, or section added."""
    match = re.search(rf"^{re.escape(heading)}\s*$", document, flags=re.MULTILINE)
    if match is None:
        return document.rstrip("\n") + "\n\n" + section
    following = re.search(r"^## ", document[match.end() :], flags=re.MULTILINE)
    end = match.end() + following.start() if following else len(document)
    tail = document[end:]
    return document[: match.start()] + section + ("\n" + tail if tail else "")


def existing_analysis(document: str) -> str | None:
    match = re.search(re.escape(ANALYSIS_START) + r"(.*?)" + re.escape(ANALYSIS_END), document, flags=re.DOTALL)
    return match.group(1) if match else None


def write_docs(results: dict[str, Any], path: Path = DOC) -> Path:
    document = path.read_text() if path.exists() else HEADER
    section = render(results, existing_analysis(document))
    path.write_text(replace_section(document, section))
    return path

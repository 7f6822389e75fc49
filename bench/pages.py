"""Page benchmark: requests/s and p99 of a community forum page and a 50-post thread page, Kindred vs a minimal baseline.

    python -m bench.pages [--duration 10] [--connections 16] [--write-docs]     (or: make bench-pages)

Both systems run one uvicorn process with the Procfile's flags (uvloop, httptools) against the same
Postgres and the same seeded rows; the load comes from wrk (Debian package) or, when wrk is not
installed, from a small Python load generator in separate processes. The baseline is a minimal
Starlette + asyncpg + Jinja2 app (create_baseline_app below) that renders the same rows with the same
Markdown function, and nothing else: no sessions, permissions, CSRF, security headers or i18n.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import multiprocessing
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
HEADING = "## Pages"
# A hand-written block inside the section that --write-docs carries over to the next run's section.
ANALYSIS_START = "<!-- pages-analysis -->"
ANALYSIS_END = "<!-- /pages-analysis -->"
SLUG = "bench-pages"
TARGET_RATIO = 0.7

# --- The baseline app ------------------------------------------------------------------------

_BASE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{% block title %}{% endblock %}</title>
<link rel="stylesheet" href="/static/css/site.css"></head><body>{% if reader %}<header>{{ reader.display_name }}</header>{% endif %}
<main>{% block main %}{% endblock %}</main></body></html>"""
_FORUM = """{% extends "base.html" %}{% block title %}{{ community.name }}{% endblock %}{% block main %}
<h1>{{ community.name }} forum</h1><ol>{% for row in rows %}<li><p><a href="/c/{{ community.slug }}/t/{{ row.id }}">{{ row.title }}</a>
{% if row.pinned %}<span>Pinned</span>{% endif %}<span>{{ row.kind }}</span></p><p>Started by {{ row.display_name }} ·
<time datetime="{{ row.last_activity_at.isoformat() }}">{{ row.last_activity_at }}</time> · {{ row.reply_count }} replies</p></li>
{% endfor %}</ol>{% endblock %}"""
_THREAD = """{% extends "base.html" %}{% block title %}{{ thread.title }}{% endblock %}{% block main %}
<h1>{{ thread.title }}</h1>{% for post in posts %}<article id="post-{{ post.id }}"><h2>{{ post.display_name }}
{% if post.is_leader %}<span>Leader</span>{% endif %}{% if post.is_expert %}<span>Expert</span>{% endif %}</h2>
<p><time datetime="{{ post.created_at.isoformat() }}">{{ post.created_at }}</time></p>
{% if post.quote %}<blockquote>{{ post.quote }}</blockquote>{% endif %}<div>{{ md(post.body_md) }}</div>
<p>Helped {{ post.helped }} · Thanks {{ post.thanks }}</p></article>{% endfor %}{% endblock %}"""


def create_baseline_app() -> Starlette:
    """The minimal app: one query for the community or thread, one for its rows, one template."""
    from server.db.pool import create_pool
    from server.presentation.markdown import markdown

    env = jinja2.Environment(
        loader=jinja2.DictLoader({"base.html": _BASE, "forum.html": _FORUM, "thread.html": _THREAD}), autoescape=True
    )
    state: dict[str, asyncpg.Pool] = {}

    async def reader(connection: Any, request: Request) -> asyncpg.Record | None:
        """A signed-in reader costs the baseline one query too (Kindred's session cookie, looked up by hash)."""
        token = request.cookies.get("kindred_session")
        if not token:
            return None
        found: asyncpg.Record | None = await connection.fetchrow(
            """SELECT u.id, u.display_name FROM sessions s JOIN users u ON u.id = s.user_id
               WHERE s.id_hash = $1 AND s.expires_at > now()""",
            hashlib.sha256(token.encode()).digest(),
        )
        return found

    async def forum(request: Request) -> Response:
        async with state["pool"].acquire() as connection:
            signed_in = await reader(connection, request)
            community = await connection.fetchrow(
                "SELECT id, slug, name FROM communities WHERE slug = $1", request.path_params["slug"]
            )
            rows = await connection.fetch(
                """SELECT t.id, t.kind, t.title, t.pinned, t.reply_count, t.last_activity_at, u.display_name
                   FROM threads t LEFT JOIN users u ON u.id = t.author_id
                   WHERE t.community_id = $1 AND t.state = 'visible'
                   ORDER BY t.pinned DESC, t.last_activity_at DESC, t.id DESC LIMIT 30""",
                community["id"],
            )
        return HTMLResponse(env.get_template("forum.html").render(community=community, rows=rows, reader=signed_in))

    async def thread(request: Request) -> Response:
        async with state["pool"].acquire() as connection:
            signed_in = await reader(connection, request)
            found = await connection.fetchrow(
                "SELECT id, title, community_id FROM threads WHERE id = $1", request.path_params["thread_id"]
            )
            posts = await connection.fetch(
                """SELECT p.id, p.body_md, p.created_at, u.display_name, u.is_expert, m.role = 'leader' AS is_leader,
                          left(q.body_md, 280) AS quote,
                          (SELECT count(*) FROM reactions r WHERE r.post_id = p.id AND r.kind = 'helped') AS helped,
                          (SELECT count(*) FROM reactions r WHERE r.post_id = p.id AND r.kind = 'thanks') AS thanks
                   FROM posts p LEFT JOIN users u ON u.id = p.author_id
                   LEFT JOIN memberships m ON m.community_id = $2 AND m.user_id = p.author_id
                   LEFT JOIN posts q ON q.id = p.reply_to_post_id
                   WHERE p.thread_id = $1 AND p.state = 'visible' ORDER BY p.id LIMIT 50""",
                found["id"],
                found["community_id"],
            )
        return HTMLResponse(
            env.get_template("thread.html").render(thread=found, posts=posts, md=markdown, reader=signed_in)
        )

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await create_pool(os.environ["DATABASE_URL"], min_size=2, max_size=10)
        try:
            yield
        finally:
            await state["pool"].close()

    return Starlette(
        routes=[
            Route("/healthz", health),
            Route("/c/{slug}/forum", forum),
            Route("/c/{slug}/t/{thread_id:int}", thread),
        ],
        lifespan=lifespan,
    )


# --- Seeding ---------------------------------------------------------------------------------

_BODY = (
    "We started **pyridostigmine** at two, and mornings got easier within a week. A few things that helped us:\n\n"
    "- a short rest before meals, so chewing is less tiring\n"
    "- splitting the dose across the day (ask your neurologist first)\n"
    "- a stroller for long walks, even when she could walk part of the way\n\n"
    "The registry at https://example.org/registry has a page on school letters. Post {n} of the thread."
)


@dataclass(frozen=True)
class Seeded:
    thread_id: int
    session_token: str


async def seed(database_url: str) -> Seeded:
    """A community with 60 threads by 20 members (one pinned), and one thread of 50 posts with badges,
    quotes, edits and reactions, plus a signed-in reader's session."""
    connection = await asyncpg.connect(database_url)
    try:
        async with connection.transaction():
            users = [
                row["id"]
                for row in await connection.fetch(
                    """INSERT INTO users (username, display_name, is_expert) SELECT 'pages' || g, 'Member ' || g, g % 7 = 0
                       FROM generate_series(1, 20) g RETURNING id"""
                )
            ]
            community = await connection.fetchval(
                "INSERT INTO communities (slug, name) VALUES ($1, 'Benchmark pages') RETURNING id", SLUG
            )
            await connection.executemany(
                "INSERT INTO memberships (community_id, user_id, role) VALUES ($1, $2, $3)",
                [(community, user, "leader" if index < 2 else "member") for index, user in enumerate(users)],
            )
            start = datetime.now(UTC) - timedelta(days=30)
            thread_id = 0
            for number in range(60):
                stamp = start + timedelta(hours=number)
                tid = await connection.fetchval(
                    """INSERT INTO threads (community_id, kind, title, author_id, pinned, reply_count, created_at, last_activity_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id""",
                    community,
                    # The last thread, the one whose page is measured, is a discussion: open to visitors
                    # (introductions are members-only until a community's leaders open them).
                    ["discussion", "question", "introduction"][(number + 1) % 3],
                    f"Thread {number}: what helped with tiredness at school",
                    users[number % 20],
                    number == 3,
                    number % 9,
                    stamp,
                )
                await connection.execute(
                    "INSERT INTO posts (thread_id, author_id, body_md) VALUES ($1, $2, $3)",
                    tid,
                    users[number % 20],
                    _BODY.format(n=0),
                )
                thread_id = tid
            previous = await connection.fetchval("SELECT id FROM posts WHERE thread_id = $1", thread_id)
            for number in range(1, 50):
                post = await connection.fetchval(
                    """INSERT INTO posts (thread_id, author_id, body_md, reply_to_post_id, edited_at)
                       VALUES ($1, $2, $3, $4, $5) RETURNING id""",
                    thread_id,
                    users[number % 20],
                    _BODY.format(n=number),
                    previous if number % 4 == 0 else None,
                    datetime.now(UTC) if number % 5 == 0 else None,
                )
                await connection.executemany(
                    "INSERT INTO reactions (post_id, user_id, kind) VALUES ($1, $2, $3)",
                    [(post, users[(number + k) % 20], "helped" if k % 2 else "thanks") for k in range(1, 4)],
                )
                previous = post
            await connection.execute("UPDATE threads SET reply_count = 49 WHERE id = $1", thread_id)
            token = secrets.token_urlsafe(32)
            await connection.execute(
                """INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at)
                   VALUES ($1, $2, $3, now() + interval '30 days')""",
                hashlib.sha256(token.encode()).digest(),
                users[5],
                secrets.token_urlsafe(32),
            )
    finally:
        await connection.close()
    return Seeded(thread_id, token)


# --- Load ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    tool: str


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, *, duration: float, connections: int, cookie: str | None) -> Measure:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    percentiles = {
        match.group(1): _ms(match.group(2), match.group(3))
        for match in re.finditer(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$", output, flags=re.MULTILINE)
    }
    errors = 0
    for pattern in (
        r"Non-2xx or 3xx responses: (\d+)",
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
    ):
        found = re.search(pattern, output)
        if found:
            errors += sum(int(value) for value in found.groups())
    return Measure(rate, percentiles["50"], percentiles["99"], errors, "wrk")


def _python_worker(url: str, duration: float, connections: int, cookie: str | None, out: Any) -> None:
    import httpx

    async def main() -> tuple[int, list[float], int]:
        latencies: list[float] = []
        errors = 0
        deadline = time.monotonic() + duration
        headers = {"cookie": cookie} if cookie else {}
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(limits=limits, headers=headers, timeout=10) as client:

            async def loop() -> None:
                nonlocal errors
                while time.monotonic() < deadline:
                    began = time.perf_counter()
                    response = await client.get(url)
                    latencies.append((time.perf_counter() - began) * 1000)
                    errors += response.status_code != 200

            await asyncio.gather(*(loop() for _ in range(connections)))
        return len(latencies), latencies, errors

    out.put(asyncio.run(main()))


def run_python_load(url: str, *, duration: float, connections: int, cookie: str | None, processes: int = 2) -> Measure:
    """The fallback load generator: asyncio + httpx in separate processes, keep-alive connections."""
    queue: Any = multiprocessing.Queue()
    per_process = max(1, connections // processes)
    workers = [
        multiprocessing.Process(target=_python_worker, args=(url, duration, per_process, cookie, queue))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    latencies = sorted(latency for _count, values, _errors in results for latency in values)
    total = sum(count for count, _values, _errors in results)

    def pick(fraction: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * fraction))] if latencies else 0.0

    return Measure(total / duration, pick(0.50), pick(0.99), sum(errors for *_rest, errors in results), "python")


def measure(url: str, *, duration: float, connections: int, cookie: str | None = None, warm_up: bool = True) -> Measure:
    if shutil.which("wrk"):
        if warm_up:
            run_wrk(url, duration=min(3.0, duration), connections=connections, cookie=cookie)
        return run_wrk(url, duration=duration, connections=connections, cookie=cookie)
    if warm_up:
        run_python_load(url, duration=min(3.0, duration), connections=connections, cookie=cookie)
    return run_python_load(url, duration=duration, connections=connections, cookie=cookie)


# --- The run ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def services(args: argparse.Namespace, data_dir: Path) -> AsyncIterator[dict[str, str]]:
    if args.database_url and args.redis_url:
        yield {"database": args.database_url, "redis": args.redis_url}
        return
    from server.db import migrate
    from server.embedded import EmbeddedServices

    embedded = EmbeddedServices(data_dir)
    await asyncio.to_thread(embedded.start)
    try:
        assert embedded.postgres is not None and embedded.redis is not None
        await asyncio.to_thread(migrate.upgrade, embedded.postgres.url)
        yield {"database": embedded.postgres.url, "redis": embedded.redis.url}
    finally:
        await asyncio.to_thread(embedded.stop)


def start_baseline(database_url: str, log_dir: Path) -> Any:
    from bench import _setup
    from server.embedded import free_port

    port = free_port()
    env = _setup._base_env(port)
    env["DATABASE_URL"] = database_url
    command = _setup.procfile_web_command().replace("server.asgi:app", "--factory bench.pages:create_baseline_app", 1)
    return _setup._start("baseline", command, env, port, log_dir)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench import _setup

    work = Path(tempfile.mkdtemp(prefix="kindred-bench-pages-"))
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _setup.machine(),
        "tool": "wrk" if shutil.which("wrk") else "python (asyncio + httpx, 2 processes)",
        "duration": args.duration,
        "rounds": args.rounds,
        "connections": args.connections,
        "rows": {},
    }
    print(f"Machine: {results['machine']}", flush=True)
    async with services(args, work / "data") as urls:
        seeded = await seed(urls["database"])
        pages = {
            "community forum page (30 threads)": f"/c/{SLUG}/forum",
            "thread page (50 posts)": f"/c/{SLUG}/t/{seeded.thread_id}",
        }
        kindred = _setup.start_kindred(urls["database"], urls["redis"], "bench-pages:", work)
        baseline = start_baseline(urls["database"], work)
        member_cookie = f"kindred_session={seeded.session_token}"
        runs: dict[tuple[str, str, str], list[Measure]] = {}
        try:
            # Both servers stay up and the measurements alternate, round after round, so a change in
            # the machine's load (other work on a shared machine) touches both systems alike.
            for round_number in range(args.rounds):
                for page, path in pages.items():
                    cases = [
                        ("baseline", "visitor", baseline.port, None),
                        ("kindred", "visitor", kindred.port, None),
                        ("baseline", "member", baseline.port, member_cookie),
                        ("kindred", "member", kindred.port, member_cookie),
                    ]
                    for system, reader, port, cookie in cases:
                        result = measure(
                            f"http://127.0.0.1:{port}{path}",
                            duration=args.duration,
                            connections=args.connections,
                            cookie=cookie,
                            warm_up=round_number == 0,
                        )
                        runs.setdefault((system, page, reader), []).append(result)
                        print(
                            f"round {round_number + 1} {system:8} {reader:7} {page}: {result.requests_per_second:,.0f} req/s",
                            flush=True,
                        )
        finally:
            kindred.stop()
            baseline.stop()
    # The median round of each case (by requests/s).
    systems = {
        key: sorted(values, key=lambda m: m.requests_per_second)[len(values) // 2] for key, values in runs.items()
    }
    for page in pages:
        for reader in ("visitor", "member"):
            base = systems[("baseline", page, reader)]
            mine = systems[("kindred", page, reader)]
            results["rows"][f"{page} · {reader}"] = {
                "kindred": mine.__dict__,
                "baseline": base.__dict__,
                "ratio": round(mine.requests_per_second / base.requests_per_second, 2),
            }
    return results


def render(results: dict[str, Any]) -> str:
    machine = results["machine"]
    lines = [
        HEADING,
        "",
        f"Run {results['started_at']} with `python -m bench.pages` (`make bench-pages`). Machine: {machine['nproc']} CPUs "
        f"({machine['cpu_model']}), Python {machine['python']}. Postgres, the server process and the load tool "
        f"({results['tool']}, {results['connections']} keep-alive connections, {results['duration']:g} s per measurement "
        f"after a warm-up) share this one machine, on loopback. Both servers stay up; the measurements alternate "
        f"(baseline and Kindred, visitor then member) for {results['rounds']} rounds and the median round is shown.",
        "",
        "Each system is one uvicorn process with the Procfile's flags. The baseline (`create_baseline_app` in "
        "`bench/pages.py`) is a minimal Starlette + asyncpg + Jinja2 app rendering the same rows with the same cached "
        "Markdown function, without permissions, CSRF, security headers, i18n or the site layout; for a signed-in "
        "reader it looks up the session (one query). Kindred is measured for a visitor and for a signed-in member, "
        "whose page also carries the unread count, the member's standing, and reaction, quote and edit buttons. "
        f"Target: Kindred ≥ {TARGET_RATIO} × baseline for the same reader.",
        "",
        "| Page · reader | Kindred req/s | Kindred p50 / p99 (ms) | Baseline req/s | Baseline p50 / p99 (ms) | Ratio | Errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in results["rows"].items():
        mine, base = row["kindred"], row["baseline"]
        verdict = "✓" if row["ratio"] >= TARGET_RATIO else "✗"
        lines.append(
            f"| {name} | {mine['requests_per_second']:,.0f} | {mine['p50_ms']:.1f} / {mine['p99_ms']:.1f} | "
            f"{base['requests_per_second']:,.0f} | {base['p50_ms']:.1f} / {base['p99_ms']:.1f} | "
            f"{row['ratio']:.2f} {verdict} | {mine['errors'] + base['errors']} |"
        )
    lines += [
        "",
        "Where the time goes (profiled in-process with cProfile): before the page caches, rendering was most of "
        "each request — Jinja's gettext wrapper (~6 µs a call), Babel date formatting (~20 µs a time) and 40-odd "
        "escaped values per post — and the thread page ran at ~0.2 × baseline. Now labels are translated once per "
        "language, formatted times are cached, and each post and thread row is an HTML fragment cached under a key "
        "made of everything it shows (`server/presentation/fragments.py`: post_html, thread_row), so an edit, a reaction or a "
        "new reader kind makes a new entry rather than a stale one; the fragments are joined in Python, not by 50 "
        "template calls. A signed-in member's thread page costs three queries: the session with the header's unread "
        "count (one query, `server/db/queries/sessions.py`), the thread with its community and the member's "
        "standing (one query), and the posts. A visitor's costs two. What is left of the gap to the baseline is "
        "mostly Postgres time: Kindred's posts query also gathers who reacted, the reader's own reaction and the "
        "edit count.",
    ]
    return "\n".join(lines) + "\n"


def write_docs(section: str, path: Path = DOC) -> None:
    """Replace (or add) the "## Pages" section, leaving every other section and the hand-written block as they are."""
    document = (
        path.read_text()
        if path.exists()
        else "# Benchmarks\n\nFigures from the benchmarks in `bench/`, each with the machine it ran on.\n"
    )
    kept = re.search(re.escape(ANALYSIS_START) + r".*?" + re.escape(ANALYSIS_END), document, flags=re.DOTALL)
    if kept is not None:
        section = section.rstrip("\n") + "\n\n" + kept.group(0) + "\n"
    match = re.search(rf"^{re.escape(HEADING)}\s*$", document, flags=re.MULTILINE)
    if match is None:
        path.write_text(document.rstrip("\n") + "\n\n" + section)
        return
    following = re.search(r"^## ", document[match.end() :], flags=re.MULTILINE)
    end = match.end() + following.start() if following else len(document)
    tail = document[end:]
    path.write_text(document[: match.start()] + section + ("\n" + tail if tail else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the median round is reported")
    parser.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"))
    parser.add_argument("--write-docs", action="store_true", help="write the Pages section of docs/benchmarks.md")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args))
    section = render(results)
    print(section)
    print(json.dumps(results["rows"], indent=2))
    if args.write_docs:
        write_docs(section)
    ratios = [row["ratio"] for row in results["rows"].values()]
    return 0 if min(ratios) >= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())

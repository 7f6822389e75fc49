"""The page benchmark writes only its own "## Pages" section of docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path

from bench.pages import render, write_docs

LIVE = "## Live rooms\n\nTheir figures.\n\n### Targets\n\n| a | b |\n"


def _results() -> dict[str, object]:
    measure = {"requests_per_second": 500.0, "p50_ms": 10.0, "p99_ms": 30.0, "errors": 0, "tool": "wrk"}
    return {
        "started_at": "2026-11-25 00:00 UTC",
        "machine": {"nproc": 2, "cpu_model": "Test CPU", "python": "3.11.7"},
        "tool": "wrk",
        "duration": 10.0,
        "rounds": 3,
        "connections": 16,
        "rows": {"thread page (50 posts) · visitor": {"kindred": measure, "baseline": measure, "ratio": 1.0}},
    }


def test_the_pages_section_is_added_after_the_others_and_then_replaced_in_place(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n" + LIVE)
    write_docs(render(_results()), doc)
    first = doc.read_text()
    assert first.startswith("# Benchmarks\n\n" + LIVE) and "## Pages" in first and "Test CPU" in first
    assert "| thread page (50 posts) · visitor | 500 |" in first
    # A later live run appends after Pages; a new pages run replaces Pages and keeps what follows.
    doc.write_text(first + "\n## Later section\n\nKept.\n")
    results = _results()
    results["machine"] = {"nproc": 2, "cpu_model": "Other CPU", "python": "3.11.7"}
    write_docs(render(results), doc)
    second = doc.read_text()
    assert "Other CPU" in second and "Test CPU" not in second
    assert second.count("## Pages") == 1 and LIVE in second and second.endswith("## Later section\n\nKept.\n")


def test_the_hand_written_block_of_the_pages_section_survives_a_new_run(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    write_docs(render(_results()), doc)
    note = "<!-- pages-analysis -->\nWhat the figures say, by hand.\n<!-- /pages-analysis -->"
    doc.write_text(doc.read_text().rstrip("\n") + "\n\n" + note + "\n\n## Later section\n\nKept.\n")
    write_docs(render(_results()), doc)
    again = doc.read_text()
    assert again.count(note) == 1 and again.index("| thread page") < again.index(note)
    assert again.endswith("## Later section\n\nKept.\n")

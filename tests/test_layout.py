"""The repository keeps the shape the design asks for."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.harness import ROOT

PYTHON_DIRS = ["server", "channels", "tests", "bench", "scripts", "alembic"]


def _python_files() -> list[Path]:
    return [path for folder in PYTHON_DIRS for path in (ROOT / folder).rglob("*.py")]


def test_top_level_layout_is_present() -> None:
    for name in ["server", "channels", "static", "templates", "alembic", "tests", "docs", "bench"]:
        assert (ROOT / name).is_dir(), name
    for name in [
        "Procfile",
        "pyproject.toml",
        "README.md",
        "Makefile",
        ".ci/run",
        "requirements.txt",
        "requirements-dev.txt",
    ]:
        assert (ROOT / name).is_file(), name


def test_every_module_has_a_docstring() -> None:
    missing = [
        str(path.relative_to(ROOT))
        for path in _python_files()
        if path.stat().st_size and ast.get_docstring(ast.parse(path.read_text())) is None
    ]
    assert missing == []


def test_channels_never_imports_server() -> None:
    offenders = []
    for path in (ROOT / "channels").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {name}" for name in names if name == "server" or name.startswith("server.")]
    assert offenders == []


def test_runtime_dependencies_are_pinned_exactly() -> None:
    for file in ["requirements.txt", "requirements-dev.txt"]:
        for line in (ROOT / file).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "-r")):
                assert "==" in line, f"{file}: {line} is not pinned"
    assert "channels==" not in (ROOT / "requirements.txt").read_text().lower()


def test_only_settings_reads_the_environment() -> None:
    readers = []
    for folder in ["server", "channels"]:
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "server" / "settings.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                named = (
                    isinstance(node, ast.Attribute) and node.attr in {"environ", "environb", "getenv", "getenvb"}
                ) or (
                    isinstance(node, ast.ImportFrom)
                    and node.module == "os"
                    and any(alias.name in {"environ", "environb", "getenv", "getenvb"} for alias in node.names)
                )
                if named:
                    readers.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}")
    assert readers == [], "read the environment only in server/settings.py"


def test_sql_runs_only_in_server_db() -> None:
    sql_calls = {"fetch", "fetchval", "fetchrow", "executemany", "execute"}
    offenders = []
    for path in (ROOT / "server").rglob("*.py"):
        if (ROOT / "server" / "db") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name = node.func.attr
            # A Redis pipeline's execute() takes no SQL: only a call given a statement counts.
            if (name in sql_calls and node.args) or name.startswith("copy_"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert offenders == [], "SQL belongs in server/db/queries"

"""Settings: README's table documents exactly what server/settings.py reads, and every setting is used."""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Iterator, Mapping

from server.settings import Settings
from tests.harness import ROOT

# Documented in README's table but read by another program, not by Kindred's settings.
READ_ELSEWHERE = {"WEB_CONCURRENCY"}  # uvicorn


class RecordingEnv(Mapping[str, str]):
    """An empty environment that remembers every variable asked of it."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        raise KeyError(key)

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.asked.add(key)
        return default

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def readme_settings() -> set[str]:
    """Every variable named in the first column of README's settings table."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split("|")[1]))
    return names


def test_readme_documents_exactly_the_variables_settings_reads() -> None:
    env = RecordingEnv()
    Settings.from_env(env)
    documented = readme_settings() - READ_ELSEWHERE
    assert "KINDRED_ENV" in documented and "DATABASE_URL" in documented  # the table was found
    assert sorted(env.asked - documented) == [], "read by server/settings.py but not in README's table"
    assert sorted(documented - env.asked) == [], "in README's table but never read by server/settings.py"


def test_every_setting_is_used_by_the_application() -> None:
    used: set[str] = set()
    for path in (ROOT / "server").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            if path.name != "settings.py":
                used.add(node.attr)
            elif isinstance(node.value, ast.Name) and node.value.id == "self":
                used.add(node.attr)  # settings.py's own properties (is_development reads environment)
    unused = [field.name for field in dataclasses.fields(Settings) if field.name not in used]
    assert unused == [], "settings nothing reads: remove them (and their README rows) or use them"

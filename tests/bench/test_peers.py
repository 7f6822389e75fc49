"""The bench's peers (bench/_peers.py) install only into their own venvs, never the project's."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import _peers


def test_a_peer_venv_lives_in_the_bench_working_folder(tmp_path: Path) -> None:
    assert _peers.venv_path("socketio", tmp_path) == (tmp_path / "venv-socketio").resolve()


def test_the_bench_refuses_to_install_a_peer_into_the_projects_venv() -> None:
    with pytest.raises(RuntimeError, match="refusing"):
        _peers.venv_path("channels", Path(sys.prefix))
    with pytest.raises(RuntimeError, match="refusing"):
        _peers.ensure_venv("channels", Path(sys.prefix) / "lib")


def test_every_peer_has_pinned_requirements_and_an_app() -> None:
    for name in _peers.PEERS:
        lines = [line for line in (_peers.PEERS_DIR / f"{name}.txt").read_text().splitlines() if line[:1].isalnum()]
        assert lines and all("==" in line for line in lines), name
        assert (_peers.PEERS_DIR / f"{name}_app.py").exists(), name

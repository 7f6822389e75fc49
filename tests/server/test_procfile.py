"""The Procfile's web command runs as separate processes sharing one Postgres and one Redis."""

from __future__ import annotations

from pathlib import Path

import httpx

from server.settings import Settings
from tests.harness import procfile_command, web_processes


def test_procfile_declares_web_and_release_processes() -> None:
    web = procfile_command("web")
    assert web.startswith("uvicorn server.asgi:app")
    assert "--loop uvloop" in web and "--http httptools" in web and "$PORT" in web.replace("${PORT:-8000}", "$PORT")
    assert "--workers" not in web, "uvicorn reads WEB_CONCURRENCY itself; a fixed --workers would override it"
    assert procfile_command("release") == "alembic upgrade head && python -m server.catalogue load"


def test_two_web_processes_serve_healthz_on_the_same_database_and_redis(settings: Settings, tmp_path: Path) -> None:
    with web_processes(settings, tmp_path, count=2) as webs:
        assert webs[0].process.pid != webs[1].process.pid
        for web in webs:
            response = httpx.get(f"{web.base_url}/healthz", timeout=5)
            assert response.status_code == 200, web.log()
            assert response.json()["database"] == "ok"

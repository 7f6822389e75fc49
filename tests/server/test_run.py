"""`make run`'s program: private servers under the data folder, migrations, demo data once, clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from server.embedded import free_port
from server.settings import DATA_FORMAT_VERSION
from tests.harness import ROOT


def _start(data_dir: Path, port: int, extra: dict[str, str] | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({"KINDRED_DATA_DIR": str(data_dir), "PORT": str(port), "HOST": "127.0.0.1"})
    env.update(extra or {})
    return subprocess.Popen(
        [sys.executable, "-m", "server.run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_healthy(process: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("server did not become healthy")


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    return output


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _ports_in(output: str) -> list[int]:
    return [int(line.split("on port ")[1].split()[0]) for line in output.splitlines() if "running on port" in line]


async def _count(url: str, sql: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval(sql))
    finally:
        await connection.close()


@pytest.mark.slow
async def test_run_keeps_data_across_restarts_loads_demo_once_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()

    first = _start(data_dir, port)
    _wait_healthy(first, port)
    async with httpx.AsyncClient() as http:
        page = await http.get(f"http://127.0.0.1:{port}/", timeout=5)
    assert "Congenital Myasthenic Syndromes" in page.text
    # Something posted during the first run (written straight to the database the run serves).
    pg_port = int((data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[3])
    url = f"postgresql://postgres@127.0.0.1:{pg_port}/postgres"
    connection = await asyncpg.connect(url)
    await connection.execute("INSERT INTO users (username, display_name) VALUES ('kept', 'Kept across restarts')")
    await connection.close()
    output = _stop(first)
    assert "Stopped the private PostgreSQL and Redis." in output
    for service_port in _ports_in(output):
        assert not _port_open(service_port), f"port {service_port} still open after stop"
    assert not (data_dir / "postgres" / "postmaster.pid").exists()

    second = _start(data_dir, port)
    _wait_healthy(second, port)
    pg_port = int((data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[3])
    url = f"postgresql://postgres@127.0.0.1:{pg_port}/postgres"
    assert await _count(url, "SELECT count(*) FROM users WHERE username = 'kept'") == 1
    assert await _count(url, "SELECT count(*) FROM communities WHERE slug = 'congenital-myasthenic-syndromes'") == 1
    assert await _count(url, "SELECT count(*) FROM users WHERE username = 'amara'") == 1
    _stop(second)


def test_run_refuses_a_port_in_use_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = _start(tmp_path / "data", port)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in output
    assert f"PORT={port + 1} make run" in output
    assert not (tmp_path / "data").exists(), "nothing should be started when the port is taken"


def test_run_refuses_an_unreachable_database_url_in_one_line(tmp_path: Path) -> None:
    dead = free_port()
    process = _start(tmp_path / "data", free_port(), {"DATABASE_URL": f"postgresql://nobody@127.0.0.1:{dead}/x"})
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    errors = [line for line in output.splitlines() if line.startswith("kindred:")]
    assert len(errors) == 1 and "Cannot reach the database at DATABASE_URL" in errors[0]


def test_run_refuses_an_unreachable_redis_url_in_one_line(tmp_path: Path) -> None:
    dead = free_port()
    process = _start(tmp_path / "data", free_port(), {"REDIS_URL": f"redis://127.0.0.1:{dead}/0"})
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    errors = [line for line in output.splitlines() if line.startswith("kindred:")]
    assert len(errors) == 1 and "Cannot reach Redis at REDIS_URL" in errors[0]


def test_run_refuses_a_data_folder_from_another_version(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "FORMAT").write_text("0\n")
    assert DATA_FORMAT_VERSION != "0"
    process = _start(data_dir, free_port())
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 1
    assert "written by another Kindred version" in output and "KINDRED_DATA_DIR" in output


def test_python_check_names_the_version_needed() -> None:
    script = (ROOT / "scripts" / "check_python.py").read_text()
    # Run the check as an older interpreter would see it by faking sys.version_info.
    fake = "import sys; sys.version_info = (3, 9, 1); sys.version = '3.9.1 (fake)'\n" + script
    result = subprocess.run([sys.executable, "-c", fake], capture_output=True, text=True)
    assert result.returncode == 1
    assert "Python 3.11 or newer is needed (found 3.9.1)" in result.stderr
    assert subprocess.run([sys.executable, str(ROOT / "scripts" / "check_python.py")]).returncode == 0

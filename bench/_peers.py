"""Peers of bench/live.py (python-socketio, Django Channels): each in its own venv under bench/.work, never the project's."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from bench import _setup
from server.embedded import free_port

PEERS_DIR = _setup.ROOT / "bench" / "peers"
WORK_DIR = _setup.ROOT / "bench" / ".work"
PEERS = {"socketio": "/socket.io/?EIO=4&transport=websocket", "channels": "/ws"}


def venv_path(name: str, work_dir: Path = WORK_DIR) -> Path:
    """Where a peer's venv lives; refuses any place inside the running interpreter's prefix (the project's venv)."""
    path = (work_dir / f"venv-{name}").resolve()
    for prefix in {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}:
        if path == prefix or prefix in path.parents:
            raise RuntimeError(f"refusing to install the {name} peer into {path}: it is inside {prefix}")
    return path


def ensure_venv(name: str, work_dir: Path = WORK_DIR) -> Path:
    """The peer's venv with bench/peers/<name>.txt installed (created on first use, re-installed when it changes)."""
    requirements = PEERS_DIR / f"{name}.txt"
    venv = venv_path(name, work_dir)
    python = venv / "bin" / "python"
    stamp = venv / "bench-requirements.sha256"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == digest:
        return venv
    print(f"  creating the {name} peer's venv in {venv}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    if Path(sys.prefix).resolve() == venv or not python.exists():
        raise RuntimeError(f"the {name} peer's venv was not created at {venv}")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(requirements)], check=True)
    stamp.write_text(digest)
    return venv


def start_peer(name: str, redis_url: str, prefix: str, log_dir: Path) -> _setup.ServerProcess:
    """One peer process under uvicorn (uvloop, httptools, websockets; no compression), run from bench/peers."""
    venv = ensure_venv(name)
    port = free_port()
    env = _setup._base_env(port)
    env.update({"PEER_REDIS_URL": redis_url, "PEER_PREFIX": prefix, "PATH": f"{venv / 'bin'}:{env['PATH']}"})
    env.pop("PYTHONPATH", None)
    command = (
        f"{venv / 'bin' / 'uvicorn'} {name}_app:app --app-dir {PEERS_DIR} --host 127.0.0.1 --port {port} "
        "--loop uvloop --http httptools --ws websockets --ws-max-size 65536 --ws-per-message-deflate false "
        "--no-access-log"
    )
    server = _setup._start(name, command, env, port, log_dir, cwd=PEERS_DIR)
    server.ws_path = PEERS[name]
    return server

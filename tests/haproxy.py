"""HAProxy in front of web processes for tests: a websocket-aware config in a tmp dir, and its runtime API."""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from server.embedded import free_port
from tests.redis_cluster import missing

HAPROXY = os.environ.get("KINDRED_HAPROXY", "/usr/sbin/haproxy")
BACKEND = "kindred"

# The settings docs/deploy.md recommends, with health checks a little quicker for a test.
CONFIG = """\
global
    maxconn 4096
    stats socket {socket} mode 600 level admin

defaults
    mode http
    option forwardfor
    timeout connect 2s
    timeout http-request 10s
    timeout client 30s
    timeout server 30s
    # A websocket, once upgraded, is a tunnel: idle members stay connected (the server pings every 20 s).
    timeout tunnel 1h
    timeout client-fin 5s

frontend web
    bind 127.0.0.1:{port}
    default_backend {backend}

backend {backend}
    # Long-lived sockets: send a new one to the process holding the fewest.
    balance leastconn
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 250ms fall 2 rise 2
{servers}
"""


def require_haproxy() -> None:
    if not shutil.which(HAPROXY):
        missing(
            f"HAProxy not found at {HAPROXY}: install it with `sudo apt-get install haproxy` "
            "(.ci/run does) to run the load-balancer tests."
        )


@dataclass
class HAProxy:
    """One haproxy process (foreground) whose backend servers are web1, web2, … at the given ports."""

    directory: Path
    backend_ports: list[int]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.directory / "haproxy.sock"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def server(self, index: int) -> str:
        return f"web{index + 1}"

    def start(self) -> None:
        require_haproxy()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        servers = "\n".join(
            f"    server {self.server(i)} 127.0.0.1:{port} check" for i, port in enumerate(self.backend_ports)
        )
        config = self.directory / "haproxy.cfg"
        config.write_text(CONFIG.format(socket=self.socket_path, port=self.port, backend=BACKEND, servers=servers))
        subprocess.run([HAPROXY, "-c", "-q", "-f", str(config)], check=True, capture_output=True)
        log = (self.directory / "haproxy.log").open("ab")
        self.process = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.wait_until(lambda states: all(state == "UP" for state in states.values()))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(10)

    def command(self, line: str) -> str:
        """One command of HAProxy's runtime API (the stats socket)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(5)
            client.connect(str(self.socket_path))
            client.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := client.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def states(self) -> dict[str, str]:
        """Server name → status as HAProxy sees it (UP, DOWN, DRAIN, MAINT, …)."""
        text = self.command("show stat").lstrip("# ")
        return {
            row["svname"]: row["status"]
            for row in csv.DictReader(io.StringIO(text))
            if row["pxname"] == BACKEND and row["svname"] not in {"FRONTEND", "BACKEND"}
        }

    def sessions(self, index: int) -> int:
        """Connections HAProxy holds open to one server now (websockets included)."""
        text = self.command("show stat").lstrip("# ")
        for row in csv.DictReader(io.StringIO(text)):
            if row["pxname"] == BACKEND and row["svname"] == self.server(index):
                return int(row["scur"] or 0)
        raise AssertionError(f"no server {self.server(index)}")

    def wait_until(self, condition: object, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.socket_path.exists() and condition(self.states()):  # type: ignore[operator]
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"HAProxy's servers did not reach the state expected: {self.safe_states()}")
            time.sleep(0.1)

    def safe_states(self) -> dict[str, str]:
        try:
            return self.states()
        except OSError as exc:
            return {"error": str(exc)}

    def drain(self, index: int) -> None:
        """No new connection goes to this server; those it has stay until they close."""
        self.command(f"set server {BACKEND}/{self.server(index)} state drain")
        self.wait_until(lambda states: states[self.server(index)] == "DRAIN")

    def ready(self, index: int) -> None:
        """Back in rotation, once its health check passes again."""
        self.command(f"set server {BACKEND}/{self.server(index)} state ready")
        self.wait_until(lambda states: states[self.server(index)] == "UP")

    def healthz(self) -> int:
        return httpx.get(f"{self.base_url}/healthz", timeout=5).status_code

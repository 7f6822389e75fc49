"""Settings: the only module that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from server.ratelimit import READ_WINDOW_SECONDS, READS_PER_IP, READS_PER_SESSION

# Bumped when the layout of the data folder (embedded Postgres major version, Redis
# persistence files) changes in a way an older folder cannot be used as is.
DATA_FORMAT_VERSION = "1"


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything the application can be configured with, read once at start-up."""

    environment: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str | None = None
    redis_url: str | None = None
    redis_prefix: str = "kindred:"
    # REDIS_URL names one node of a Redis Cluster (7+): sharded pub/sub, hash-tagged keys (docs/deploy.md).
    redis_cluster: bool = False
    data_dir: Path = field(default_factory=lambda: Path(".kindred"))
    site_origin: str = "http://127.0.0.1:8000"
    load_demo_data: bool = True
    db_pool_min: int = 2
    db_pool_max: int = 10
    # Redis connections per process, for commands (rate limits, presence) and, as many again, for publishing.
    redis_pool_max: int = 20
    smtp_url: str | None = None
    # How long a member stays "here" after their process stops refreshing them (a crashed process).
    presence_ttl: float = 30.0
    # Frames queued for one websocket before it is closed with "resume" (a client that stopped reading).
    ws_max_queue: int = 1000
    # Minutes an open flag may wait for this community's leaders before site admins are asked to look.
    flag_escalate_minutes: int = 60
    # How often each process looks for flags to escalate (seconds; review pages also look when they load).
    flag_sweep_seconds: float = 60.0
    # Reads (pages, API, live-room history) allowed per window, per signed-in session and per address
    # (server/ratelimit.py explains the defaults); the window in seconds.
    read_limit_session: int = READS_PER_SESSION
    read_limit_ip: int = READS_PER_IP
    read_limit_window: int = READ_WINDOW_SECONDS
    # The default is translated into the reader's language; a site's own text (KINDRED_CRISIS_TEXT) is shown as written.
    crisis_text: str = (
        "If someone is in immediate danger, call your local emergency number now "
        "(112 in Europe, 911 in North America, 999 in the UK)."
    )

    @property
    def is_development(self) -> bool:
        return self.environment in {"development", "test"}

    @property
    def secure_cookies(self) -> bool:
        return not self.is_development

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        port = int(env.get("PORT", "8000"))
        host = env.get("HOST", "127.0.0.1")
        public_host = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 - comparing, not binding
        default_origin = f"http://{public_host}:{port}"
        return cls(
            environment=env.get("KINDRED_ENV", "development"),
            host=host,
            port=port,
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            redis_prefix=env.get("KINDRED_REDIS_PREFIX", "kindred:"),
            redis_cluster=_bool(env.get("KINDRED_REDIS_CLUSTER"), False),
            data_dir=Path(env.get("KINDRED_DATA_DIR", ".kindred")),
            site_origin=env.get("KINDRED_SITE_ORIGIN", default_origin).rstrip("/"),
            load_demo_data=_bool(env.get("KINDRED_DEMO_DATA"), True),
            db_pool_min=int(env.get("KINDRED_DB_POOL_MIN", "2")),
            db_pool_max=int(env.get("KINDRED_DB_POOL_MAX", "10")),
            redis_pool_max=int(env.get("KINDRED_REDIS_POOL_MAX", "20")),
            smtp_url=env.get("KINDRED_SMTP_URL") or None,
            presence_ttl=float(env.get("KINDRED_PRESENCE_TTL", "30")),
            ws_max_queue=int(env.get("KINDRED_WS_MAX_QUEUE", "1000")),
            flag_escalate_minutes=int(env.get("KINDRED_FLAG_ESCALATE_MINUTES", "60")),
            read_limit_session=int(env.get("KINDRED_READ_LIMIT_SESSION", str(READS_PER_SESSION))),
            read_limit_ip=int(env.get("KINDRED_READ_LIMIT_IP", str(READS_PER_IP))),
            read_limit_window=int(env.get("KINDRED_READ_LIMIT_WINDOW", str(READ_WINDOW_SECONDS))),
            crisis_text=env.get("KINDRED_CRISIS_TEXT") or cls.crisis_text,
        )

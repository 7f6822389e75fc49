"""Rate limits kept in Redis, so they hold across every server process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from redis.asyncio.cluster import RedisCluster

from channels.redis_client import REDIS_ERRORS, RedisClient
from server.errors import RateLimited
from server.i18n import ngettext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """At most `count` events per `seconds`, per key (a fixed window in Redis)."""

    name: str
    count: int
    seconds: int


# Failed logins: per address, generous (shared networks); per account, tight but short, so an
# attacker can slow guessing without locking a real member out for more than a few minutes.
LOGIN_FAILURES_PER_IP = Limit("login-ip", 30, 15 * 60)
LOGIN_FAILURES_PER_ACCOUNT = Limit("login-account", 8, 5 * 60)
REGISTRATIONS_PER_IP = Limit("register-ip", 10, 60 * 60)
POSTS_PER_USER = Limit("posts", 20, 10 * 60)
MESSAGES_PER_USER = Limit("messages", 30, 10)
# Each reaction goes to everyone in the room: a minute of thanking a whole conversation is about 40,
# a script toggling one message to flood the room is far more.
REACTIONS_PER_USER = Limit("reactions", 60, 60)
# Requests to connect with other families: a handful a day is a family reaching out, more is a broadcast.
FAMILY_REQUESTS_PER_USER = Limit("family-requests", 20, 24 * 60 * 60)

# Reads (pages, the JSON API, live-room history), against scraping members' words. A person reading
# opens a page every few seconds at most: 300 per 10 minutes per signed-in session is a page every
# 2 seconds for 10 minutes straight, several times what fast reading or a live thread reloading itself
# makes. Every read also counts against its address, anonymous or not, 4 times as much: a family,
# an office or a hospital ward behind one NAT (about 20 people reading normally at once), and the
# bound on a scraper that rotates sessions or accounts from one address. docs/architecture.md.
READ_WINDOW_SECONDS = 10 * 60
READS_PER_SESSION = 300
READS_PER_IP = 1200

# Never counted: assets, probes and crawlers' manners (the websocket upgrade is not an HTTP read
# either; a join with history is counted where it is answered, server/routes/live.py).
_UNCOUNTED_PATHS = frozenset({"/healthz", "/metrics", "/robots.txt", "/favicon.ico"})
_UNCOUNTED_PREFIXES = ("/static/",)
_READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class ReadLimits:
    """The read allowances in force (Settings may lower or raise them): per session, per address."""

    per_session: Limit
    per_ip: Limit

    @classmethod
    def of(
        cls, per_session: int = READS_PER_SESSION, per_ip: int = READS_PER_IP, seconds: int = READ_WINDOW_SECONDS
    ) -> ReadLimits:
        return cls(Limit("reads-session", per_session, seconds), Limit("reads-ip", per_ip, seconds))


def counts_as_read(method: str, path: str) -> bool:
    """An HTTP request that spends read allowance: a GET or HEAD of a page or the API, not an asset or probe."""
    return method in _READ_METHODS and path not in _UNCOUNTED_PATHS and not path.startswith(_UNCOUNTED_PREFIXES)


# KEYS: the counters; ARGV: (allowed count, window seconds) per key. Counts one event on each and
# answers 0, or the seconds left in the longest window past its count.
_COUNT_SCRIPT = """
local wait = 0
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  local seconds = tonumber(ARGV[2 * i])
  if count == 1 then redis.call('EXPIRE', key, seconds) end
  if count > tonumber(ARGV[2 * i - 1]) then
    local left = redis.call('TTL', key)
    if left < 1 then left = 1 end
    if left > wait then wait = left end
  end
end
return wait
"""


class RateLimiter:
    def __init__(self, client: RedisClient, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._count_script = client.register_script(_COUNT_SCRIPT)

    def _key(self, limit: Limit, key: str) -> str:
        return f"{self.prefix}rl:{limit.name}:{key}"

    async def exceeded(self, limit: Limit, key: str) -> bool:
        """True when the key has used its allowance (without counting a new event)."""
        try:
            value = await self.client.get(self._key(limit, key))
        except REDIS_ERRORS as exc:
            # Redis down: fail open rather than lock everyone out; logged so it is seen.
            log.warning("rate limiter unavailable (%s); allowing %s", exc, limit.name)
            return False
        return value is not None and int(value) >= limit.count

    async def hit(self, limit: Limit, key: str) -> bool:
        """Count one event; True when it is still within the limit."""
        return await self.wait([(limit, key)]) == 0

    async def wait(self, events: list[tuple[Limit, str]]) -> int:
        """Count one event against each (limit, key) in one round trip; 0 when every one is still
        within its limit, else the seconds left in the longest window that refused it (at least 1)."""
        # One script call (one command, one integer back): a transaction of SET/INCR/TTL per key cost
        # a page about a quarter of its throughput in redis-py's pipeline machinery (docs/benchmarks.md).
        keys = [self._key(limit, key) for limit, key in events]
        args = [value for limit, _key in events for value in (limit.count, limit.seconds)]
        try:
            if isinstance(self.client, RedisCluster):
                waits = await asyncio.gather(
                    *(self._count_script(keys=k, args=a) for k, a in _by_slot(self.client, keys, args))
                )
                wait = max(waits, default=0)
            else:
                wait = await self._count_script(keys=keys, args=args)
        except REDIS_ERRORS as exc:
            log.warning("rate limiter unavailable (%s); allowing %s", exc, ", ".join(limit.name for limit, _ in events))
            return 0
        return int(wait)

    async def reset(self, limit: Limit, key: str) -> None:
        with contextlib.suppress(*REDIS_ERRORS):
            await self.client.delete(self._key(limit, key))


def _by_slot(client: RedisCluster, keys: list[str], args: list[int]) -> list[tuple[list[str], list[int]]]:
    """The keys (and their pairs of arguments) of one count, grouped by cluster slot: one script call per slot.

    A read counts its address and its session, two subjects that no one hash tag can keep together
    without sending every read of the site to one shard, or splitting a session's count when its
    address changes; so a count touching two slots is two script calls, sent at once.
    """
    groups: dict[int, tuple[list[str], list[int]]] = {}
    for i, key in enumerate(keys):
        group = groups.setdefault(client.keyslot(key), ([], []))
        group[0].append(key)
        group[1].extend(args[2 * i : 2 * i + 2])
    return list(groups.values())


async def check_read(limiter: RateLimiter, limits: ReadLimits, *, session_hash: bytes | None, ip: str | None) -> None:
    """Count one read (a page, an API answer, a live room's history); RateLimited once the session or
    the address has read too much in this window. Redis down: allowed."""
    events = [(limits.per_ip, ip or "unknown")]
    if session_hash is not None:
        events.append((limits.per_session, session_hash.hex()))
    seconds = await limiter.wait(events)
    if seconds:
        message = ngettext(
            "Too many pages were opened from here in a short time, so Kindred is pausing for a moment. "
            "Please wait %(seconds)s second and try again.",
            "Too many pages were opened from here in a short time, so Kindred is pausing for a moment. "
            "Please wait %(seconds)s seconds and try again.",
            seconds,
        ) % {"seconds": seconds}
        raise RateLimited(message, retry_after=seconds)

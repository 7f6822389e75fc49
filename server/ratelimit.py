"""Rate limits kept in Redis, so they hold across every server process."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import redis.asyncio as redis
from redis.exceptions import RedisError

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


class RateLimiter:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def _key(self, limit: Limit, key: str) -> str:
        return f"{self.prefix}rl:{limit.name}:{key}"

    async def exceeded(self, limit: Limit, key: str) -> bool:
        """True when the key has used its allowance (without counting a new event)."""
        try:
            value = await self.client.get(self._key(limit, key))
        except RedisError as exc:
            # Redis down: fail open rather than lock everyone out; logged so it is seen.
            log.warning("rate limiter unavailable (%s); allowing %s", exc, limit.name)
            return False
        return value is not None and int(value) >= limit.count

    async def hit(self, limit: Limit, key: str) -> bool:
        """Count one event; True when it is still within the limit."""
        name = self._key(limit, key)
        try:
            # SET NX starts the window once; INCR counts within it (EXPIRE NX needs Redis 7).
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.set(name, 0, ex=limit.seconds, nx=True)
                pipe.incr(name)
                _, count = await pipe.execute()
        except RedisError as exc:
            log.warning("rate limiter unavailable (%s); allowing %s", exc, limit.name)
            return True
        return int(count) <= limit.count

    async def reset(self, limit: Limit, key: str) -> None:
        with contextlib.suppress(RedisError):
            await self.client.delete(self._key(limit, key))

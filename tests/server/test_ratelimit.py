"""The read limit's rules: what counts as a read, the wait it reports, and failing open without Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from channels.redis_client import RedisClient, command_client
from server import ratelimit
from server.errors import RateLimited
from server.ratelimit import Limit, RateLimiter, ReadLimits
from tests.harness import Services
from tests.redis_cluster import LocalCluster


@pytest.fixture(params=["redis", "cluster"])
async def limiter(request: pytest.FixtureRequest, services: Services, redis_prefix: str) -> AsyncIterator[RateLimiter]:
    """On the suite's Redis, and on a Redis Cluster (where a read's two counts live on two slots)."""
    client: RedisClient
    if request.param == "cluster":
        cluster: LocalCluster = request.getfixturevalue("redis_cluster")
        client = command_client(cluster.url, cluster=True)
    else:
        client = aioredis.Redis.from_url(services.redis_url)
    yield RateLimiter(client, redis_prefix)
    await client.aclose()


def test_reads_are_gets_of_pages_and_the_api_not_assets_probes_or_forms() -> None:
    for path in ["/", "/c/cms/forum", "/c/cms/t/12", "/u/lucia", "/search", "/api/v1/communities"]:
        assert ratelimit.counts_as_read("GET", path) and ratelimit.counts_as_read("HEAD", path)
    for path in ["/static/css/site.css", "/healthz", "/metrics", "/robots.txt", "/favicon.ico"]:
        assert not ratelimit.counts_as_read("GET", path)
    assert not ratelimit.counts_as_read("POST", "/c/cms/t/12/reply")


def test_the_default_allowances_are_generous_for_people_and_larger_per_address() -> None:
    limits = ReadLimits.of()
    assert limits.per_session.count >= 300 and limits.per_session.seconds == 600
    assert limits.per_ip.count >= 4 * limits.per_session.count


async def test_wait_is_zero_within_the_limit_then_the_seconds_left_in_the_window(limiter: RateLimiter) -> None:
    tight = Limit("test-tight", 2, 30)
    loose = Limit("test-loose", 100, 90)
    assert await limiter.wait([(tight, "a"), (loose, "a")]) == 0
    assert await limiter.wait([(tight, "a"), (loose, "a")]) == 0
    assert 1 <= await limiter.wait([(tight, "a"), (loose, "a")]) <= 30
    assert await limiter.wait([(tight, "b")]) == 0  # another key has its own count


async def test_check_read_counts_the_session_and_the_address(limiter: RateLimiter) -> None:
    limits = ReadLimits.of(per_session=2, per_ip=3, seconds=60)
    await ratelimit.check_read(limiter, limits, session_hash=b"one", ip="10.0.0.1")
    await ratelimit.check_read(limiter, limits, session_hash=b"one", ip="10.0.0.1")
    with pytest.raises(RateLimited) as refused:
        await ratelimit.check_read(limiter, limits, session_hash=b"one", ip="10.0.0.1")
    assert refused.value.code == "rate_limited" and refused.value.retry_after is not None
    assert 1 <= refused.value.retry_after <= 60
    # The address has now read 3 times: a new session on it is refused too, another address is not.
    with pytest.raises(RateLimited):
        await ratelimit.check_read(limiter, limits, session_hash=b"two", ip="10.0.0.1")
    await ratelimit.check_read(limiter, limits, session_hash=None, ip="10.0.0.2")
    if isinstance(limiter.client, RedisCluster):  # the case the per-slot split is for
        keys = [limiter._key(limits.per_ip, "10.0.0.1"), limiter._key(limits.per_session, b"one".hex())]
        assert len({limiter.client.keyslot(key) for key in keys}) == 2


async def test_without_redis_reads_are_allowed() -> None:
    client = aioredis.Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.5)
    try:
        limits = ReadLimits.of(per_session=1, per_ip=1, seconds=60)
        for _ in range(3):
            await ratelimit.check_read(RateLimiter(client, "down:"), limits, session_hash=b"s", ip="10.0.0.1")
    finally:
        await client.aclose()

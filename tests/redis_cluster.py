"""The Redis Cluster of the tests (bench/redis_cluster.py), failing under CI and skipped elsewhere without redis-server 7."""

from __future__ import annotations

import os

import pytest

from bench.redis_cluster import LocalCluster, Node, redis_7_missing

__all__ = ["LocalCluster", "Node", "missing", "require_redis_7"]


def missing(message: str) -> None:
    """Under CI a missing binary is a failure; on a developer's machine the tests that need it are skipped."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def require_redis_7() -> None:
    problem = redis_7_missing()
    if problem:
        missing(problem + " to run the Redis Cluster tests.")

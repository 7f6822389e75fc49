"""Prometheus metrics of this process, served at /metrics (one registry per app, no globals)."""

from __future__ import annotations

import asyncio
import collections
import ipaddress
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def _coroutine_name(task: asyncio.Task[object]) -> str:
    coroutine = task.get_coro()
    return str(getattr(coroutine, "__qualname__", type(coroutine).__name__))


class TaskCollector:
    """kindred_asyncio_tasks{coroutine}: this process's asyncio tasks when scraped, by their coroutine's name
    (a leak shows as one name that keeps growing)."""

    NAME = "kindred_asyncio_tasks"
    HELP = "asyncio tasks alive in this process when scraped, by coroutine"

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(self.NAME, self.HELP, labels=["coroutine"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self.NAME, self.HELP, labels=["coroutine"])
        try:
            tasks = asyncio.all_tasks()
        except RuntimeError:  # scraped outside the event loop (no tasks to speak of)
            tasks = set()
        for name, count in sorted(collections.Counter(map(_coroutine_name, tasks)).items()):
            family.add_metric([name], count)
        yield family


class Metrics:
    """The live layer's vital signs; each server process exposes its own (scrape every process).

    The gauges of the live service's own state (hub topics and memberships, broker channels, presence
    entries, clients) read it when scraped: the live service sets their functions (server/live.py).
    With kindred_open_sockets and kindred_asyncio_tasks they show a leak (bench/soak.py watches them).
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.open_sockets = Gauge(
            "kindred_open_sockets", "Websocket connections open on this process", registry=self.registry
        )
        self.messages_sent = Counter(
            "kindred_messages_sent", "Room messages committed and acknowledged", registry=self.registry
        )
        self.messages_delivered = Counter(
            "kindred_messages_delivered", "Room message frames queued to local sockets", registry=self.registry
        )
        self.send_to_deliver_seconds = Histogram(
            "kindred_send_to_deliver_seconds",
            "From commit on the sending process to hand-off to this process's sockets",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.dropped_slow_clients = Counter(
            "kindred_dropped_slow_clients",
            "Sockets closed because their outbound queue was full",
            registry=self.registry,
        )
        self.redis_reconnects = Counter(
            "kindred_redis_reconnects", "Times the Redis subscription was re-established", registry=self.registry
        )
        self.registry.register(TaskCollector())
        self.live_clients = self._state("kindred_live_clients", "Websocket clients the live service holds")
        self.live_users = self._state("kindred_live_users", "Members with at least one client on this process")
        self.hub_topics = self._state("kindred_hub_topics", "Topics (rooms, threads, members) with local sockets")
        self.hub_memberships = self._state("kindred_hub_memberships", "Socket-topic pairs in this process's hub")
        self.broker_channels = self._state("kindred_broker_channels", "Redis channels this process subscribes to")
        self.broker_shards = self._state(
            "kindred_broker_shards", "Redis subscriber connections (1, or one per Redis Cluster shard in use)"
        )
        self.presence_rooms = self._state("kindred_presence_rooms", "Rooms this process keeps presence entries for")
        self.presence_members = self._state("kindred_presence_members", "Presence entries this process keeps")

    def _state(self, name: str, documentation: str) -> Gauge:
        return Gauge(name, documentation, registry=self.registry)


def _from_private_network(request: Request) -> bool:
    if request.client is None:
        return False
    try:
        address = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private


async def metrics_endpoint(request: Request) -> Response:
    # Scraped from inside the network; the public gets the same 404 as for any unknown page.
    if not _from_private_network(request):
        raise HTTPException(404)
    metrics: Metrics = request.app.state.metrics
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


routes = [Route("/metrics", metrics_endpoint, methods=["GET"])]

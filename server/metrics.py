"""Prometheus metrics of this process, served at /metrics (one registry per app, no globals)."""

from __future__ import annotations

import ipaddress

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class Metrics:
    """The live layer's vital signs; each server process exposes its own (scrape every process)."""

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

"""Prometheus metrics of one app (its own registry, so tests can build many apps)."""

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coordinator_service.services.audience import Audience

__all__ = ["Metrics", "MetricsMiddleware"]


class Metrics:
    """The coordinator's metrics: requests, latencies, heartbeats, live nodes, viewers."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.audience = Audience()
        self.registry.register(_AudienceCollector(self.audience))
        self.requests = Counter(
            "streamr_http_requests",
            "HTTP requests by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "streamr_http_request_duration_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.heartbeats = Counter(
            "streamr_heartbeats", "Heartbeats recorded", ["state"], registry=self.registry
        )
        self.live_nodes = Gauge(
            "streamr_live_nodes",
            "Nodes whose last heartbeat is within the grace window",
            registry=self.registry,
        )


class _AudienceCollector(Collector):
    """Viewers by stream and pathway kind, and how many ended on the origin (this replica)."""

    def __init__(self, audience: Audience) -> None:
        self.audience = audience

    def collect(self) -> Iterator[Metric]:
        viewers = GaugeMetricFamily(
            "streamr_watch_viewers",
            "Viewers seen lately by stream and pathway (relay or origin)",
            labels=["stream", "pathway"],
        )
        playlists = CounterMetricFamily(
            "streamr_watch_playlists", "Watch playlists served", labels=["stream"]
        )
        origin_only = CounterMetricFamily(
            "streamr_watch_origin_only_playlists",
            "Watch playlists that could offer only the origin (no relay eligible)",
            labels=["stream"],
        )
        fell_back = CounterMetricFamily(
            "streamr_watch_fell_back_to_origin",
            "Viewers that moved from a relay to the origin",
            labels=["stream"],
        )
        for name, seen in self.audience.streams().items():
            viewers.add_metric([name, "relay"], seen.on_relays)
            viewers.add_metric([name, "origin"], seen.on_origin)
            playlists.add_metric([name], seen.playlists)
            origin_only.add_metric([name], seen.origin_only)
            fell_back.add_metric([name], seen.fell_back)
        yield from (viewers, playlists, origin_only, fell_back)


class MetricsMiddleware:
    """Count requests and time them by route template (pure ASGI, cheap on the hot path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], template, str(status)).inc()
            self.metrics.latency.labels(template).observe(time.perf_counter() - started)

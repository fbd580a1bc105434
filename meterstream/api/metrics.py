"""Prometheus metrics of the API, in a registry of their own (one per app)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.requests import Request
from starlette.responses import Response

from meterstream.alerts.metrics import AlertMetrics


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "meterstream_api_requests", "HTTP requests answered, by route template and status.",
            ["method", "route", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "meterstream_api_request_seconds", "Time to answer a request (to the first byte for streams).",
            ["route"], registry=self.registry,
        )
        self.usage_events = Counter(
            "meterstream_api_usage_events", "Usage events received, by outcome.", ["outcome"], registry=self.registry,
        )
        self.live_subscribers = Gauge(
            "meterstream_api_live_subscribers", "Open server-sent-event streams of session totals.",
            registry=self.registry,
        )
        # Alerts received by kind, webhook tries by outcome (the alert channel runs in this process).
        self.alerts = AlertMetrics(self.registry)

    async def middleware(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "(unmatched)")
        self.requests.labels(request.method, route, str(response.status_code)).inc()
        self.latency.labels(route).observe(time.perf_counter() - start)
        return response

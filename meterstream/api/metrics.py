"""Prometheus metrics of the API, in a registry of their own (one per app)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from meterstream.alerts.metrics import AlertMetrics
from meterstream.api.guard import ASGIApp, Receive, Scope, Send

REACHED = "meterstream.metrics_reached"  # scope key: perf_counter() when the request reached the metrics


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

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Mark where, and when, a request reaches the metrics (inside the guard): the request
        observer (observer.py) counts and times its answer from here; an answer given before
        (the guard's 401 or 413, a CORS preflight) is not counted. Plain ASGI: Starlette's
        BaseHTTPMiddleware (the `@app.middleware("http")` form) ran each request in a task
        group of its own and cost more CPU than most routes (py-spy on /healthz under load)."""

        async def marked(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                scope[REACHED] = time.perf_counter()
            await app(scope, receive, send)

        return marked

    def answered(self, scope: Scope, status: int, at: float) -> None:
        """Count and time the answer to a request that reached the marker (`at`: perf_counter)."""
        reached = scope.get(REACHED)
        if reached is None:
            return
        route = getattr(scope.get("route"), "path", "(unmatched)")
        self.requests.labels(scope["method"], route, str(status)).inc()
        self.latency.labels(route).observe(at - reached)

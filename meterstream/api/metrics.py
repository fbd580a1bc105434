"""Prometheus metrics of the API, in a registry of their own (one per app)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from meterstream.alerts.metrics import AlertMetrics
from meterstream.api.guard import ASGIApp, Message, Receive, Scope, Send


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
        """Count and time every request. Plain ASGI: Starlette's BaseHTTPMiddleware (the
        `@app.middleware("http")` form) ran each request in a task group of its own and cost
        more CPU than most routes (py-spy on /healthz under load)."""

        async def observed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            start = time.perf_counter()

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":  # the router has set scope["route"] by now
                    route = getattr(scope.get("route"), "path", "(unmatched)")
                    self.requests.labels(scope["method"], route, str(message["status"])).inc()
                    self.latency.labels(route).observe(time.perf_counter() - start)
                await send(message)

            await app(scope, receive, sending)

        return observed

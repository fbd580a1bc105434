"""The request observer: one wrap of `send` per request, and what it sees of the answer feeds
both the access log (access_log.py) and the request metrics (metrics.py).

It sits outermost, so the access log has every answer: the guard's 401 and 413, a CORS
preflight, and a 500 when the app raised before answering. The metrics count only requests
that got as far as their marker inside the guard (`ApiMetrics.middleware`, which notes when
and adds no wrap of its own), timed from there, by the route template the router set.
Plain ASGI, not Starlette's BaseHTTPMiddleware (see ApiMetrics.middleware).
"""

from __future__ import annotations

import time

from meterstream.api import access_log
from meterstream.api.guard import ASGIApp, Message, Receive, Scope, Send
from meterstream.api.metrics import ApiMetrics


class RequestObserver:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics, access_log: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        logged = self.access_log and access_log.enabled()
        start = time.perf_counter()
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":  # the router has set scope["route"] by now
                started = True
                at = time.perf_counter()
                self.metrics.answered(scope, message["status"], at)
                if logged:
                    access_log.answered(scope, message["status"], at - start)
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if logged and not started:
                access_log.answered(scope, 500, time.perf_counter() - start)

"""One INFO line per request on the `meterstream.api.access` logger:

    POST /v1/usage 202 3.1 ms tenant=acme

method, path (no query string: it may carry ids), status, time to the answer's first byte (a
push stream is logged when it opens), and the tenant the credential named (`-` when none did).
`serve` shows these lines; METERSTREAM_API_ACCESS_LOG=false turns them off.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from meterstream.api.guard import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("meterstream.api.access")


def tenant_of(scope: Scope) -> str:
    state: dict[str, Any] = scope.get("state") or {}
    return str(state.get("tenant_id") or "-")


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        logged = False

        def line(status: int | str) -> None:
            nonlocal logged
            logged = True
            log.info("%s %s %s %.1f ms tenant=%s", scope["method"], scope["path"], status,
                     (time.perf_counter() - start) * 1000, tenant_of(scope))

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                line(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if not logged:
                line(500)

"""One INFO line per request on the `meterstream.api.access` logger:

    POST /v1/usage 202 3.1 ms tenant=acme

method, path (no query string: it may carry ids), status, time to the answer's first byte (a
push stream is logged when it opens), and the tenant the credential named (`-` when none did).
`serve` shows these lines; METERSTREAM_API_ACCESS_LOG=false turns them off. The request
observer (observer.py) sees each answer and writes the line.
"""

from __future__ import annotations

import logging
from typing import Any

from meterstream.api.guard import Scope

log = logging.getLogger("meterstream.api.access")


def tenant_of(scope: Scope) -> str:
    state: dict[str, Any] = scope.get("state") or {}
    return str(state.get("tenant_id") or "-")


def enabled() -> bool:
    return log.isEnabledFor(logging.INFO)


def answered(scope: Scope, status: int | str, seconds: float) -> None:
    log.info("%s %s %s %.1f ms tenant=%s", scope["method"], scope["path"], status, seconds * 1000, tenant_of(scope))

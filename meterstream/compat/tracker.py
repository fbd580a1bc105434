"""`usage_tracker.record_usage(...)` as the original in-process tracker had it, over UsageEmitter.

    from meterstream.compat import usage_tracker

    usage_tracker.record_usage(session_id=session_id, model_name="imagen-4.0-generate-001",
                               service_type="image", operation_type="generate", number_of_images=2)

The event goes to Kafka like any other (validated first, spooled to disk if the broker is
away); the tenant is `tenant_id=` if given, else METERSTREAM_COMPAT_TENANT_ID. The emitter is
made on the first call, so importing this connects to nothing.

The old tracker kept each call as it returned, so its apps never flush: a tracker that made
its own emitter closes it when the process exits (delivering what is queued, spooling what
cannot be delivered), or an app that ends right after its last call would lose those calls.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

from meterstream.compat.legacy import event_of
from meterstream.producers.emitter import UsageEmitter
from meterstream.schemas import UsageEvent
from meterstream.settings import Settings


class UsageTracker:
    def __init__(self, emitter: UsageEmitter | None = None, settings: Settings | None = None,
                 tenant_id: str | None = None) -> None:
        self._emitter = emitter
        self._settings = settings
        self._tenant_id = tenant_id
        self._lock = threading.Lock()

    @property
    def emitter(self) -> UsageEmitter:
        with self._lock:
            if self._emitter is None:
                self._settings = self._settings or Settings()
                self._emitter = UsageEmitter(self._settings)
                atexit.register(self._close_at_exit, self._emitter)
            return self._emitter

    def _close_at_exit(self, emitter: UsageEmitter) -> None:
        with self._lock:
            if self._emitter is emitter:  # not closed (and perhaps replaced) since
                self._emitter = None
                emitter.close()

    def record_usage(self, *, session_id: str, model_name: str, service_type: str,
                     operation_type: str | None = None, **usage: Any) -> UsageEvent:
        """Record one model call; returns the event sent. InvalidUsageEvent names a bad field."""
        event = event_of(session_id, model_name, service_type, operation_type, usage)
        emitter = self.emitter
        tenant = self._tenant_id or emitter.settings.compat_tenant_id
        event.setdefault("tenant_id", tenant)
        return emitter.emit(event)

    def flush(self, timeout: float = 30.0) -> int:
        return self.emitter.flush(timeout) if self._emitter is not None else 0

    def close(self) -> None:
        with self._lock:
            if self._emitter is not None:
                self._emitter.close()
                self._emitter = None


usage_tracker = UsageTracker()

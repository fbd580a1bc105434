"""For the alert tests: AlertRecords as the stream raises them, a real webhook receiver on
127.0.0.1, and putting alerts on the topic.

Every request is checked with the `standardwebhooks` package (`Webhook(secret).verify`), not
with meterstream's own code, so the tests prove that any Standard Webhooks receiver accepts
what meterstream sends.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from confluent_kafka import Producer
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from meterstream.schemas.alerts import (
    AlertEvent,
    AlertKind,
    AlertRecord,
    AnomalyAlert,
    AnomalyDriver,
    BudgetAlert,
    alert_id,
)

def threshold_alert(tenant: str, threshold: int = 80, budget: str = "bud_1", spent: str = "80.000123") -> AlertRecord:
    start = datetime(2026, 5, 1, tzinfo=UTC)
    return AlertRecord(
        alert_id=alert_id(tenant, budget, 1, start.isoformat(), threshold),
        kind=AlertKind.BUDGET_THRESHOLD, tenant_id=tenant, raised_at=datetime.now(UTC),
        title=f"Budget 'monthly' reached {threshold}%: {spent} of 100.00 USD",
        budget=BudgetAlert(budget_id=budget, name="monthly", period_start=start, period_end=None,
                           threshold=Decimal(threshold), spent=Decimal(spent), limit=Decimal("100"),
                           currency="USD", action="notify"),
        event=AlertEvent(event_id="evt-1", session_id="ses-1", service="text", model="gemini-2.5-flash",
                         cost=Decimal("0.000123"), occurred_at=start),
    )


def anomaly_alert(tenant: str, window: datetime, spent: str = "12.000000000007", expected: str = "1.5",
                  minutes: int = 60) -> AlertRecord:
    """An hour's (or, with minutes=5, a burst's) tenant spend far above its baseline, as
    meterstream/insights/anomaly.py raises it."""
    driver = AnomalyDriver(user_id="ana", model="veo-3.0-generate", service="video", spent=Decimal(spent),
                           expected=Decimal(expected))
    return AlertRecord(
        alert_id=alert_id(tenant, "anomaly", "tenant", "", window.isoformat(), minutes),
        kind=AlertKind.ANOMALY_BURST if minutes == 5 else AlertKind.ANOMALY_SPEND, tenant_id=tenant,
        raised_at=datetime.now(UTC), title=f"Unusual hourly spend: {spent} USD in {minutes} min",
        anomaly=AnomalyAlert(series="tenant", window_start=window, window_minutes=minutes, spent=Decimal(spent),
                             expected=Decimal(expected), threshold=Decimal(expected) * 4, history_hours=30,
                             currency="USD", drivers=[driver]),
    )


def new_tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Received:
    path: str
    webhook_id: str
    headers: dict[str, str]
    payload: dict | None  # None when the signature did not verify
    answered: int


@dataclass
class Route:
    """What a path answers, request after request: 200, any status, "hang" (no answer for a long
    while) or "redirect"; the last entry repeats."""

    secret: str
    script: list[int | str] = field(default_factory=lambda: [200])
    calls: int = 0


class Receiver:
    def __init__(self, port: int = 0, hang_seconds: float = 30.0) -> None:
        self.routes: dict[str, Route] = {}
        self.received: list[Received] = []
        self.hang_seconds = hang_seconds
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"receiver-{self.port}", daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, secret: str, *script: int | str) -> None:
        self.routes[path] = Route(secret, list(script) or [200])

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                route = receiver.routes.get(self.path)
                if route is None:
                    return self._answer(404, None)
                try:
                    payload = Webhook(route.secret).verify(body, headers)
                except WebhookVerificationError:
                    payload = None
                with receiver._lock:
                    action = route.script[min(route.calls, len(route.script) - 1)]
                    route.calls += 1
                if payload is None:
                    action = 400
                if action == "hang":
                    time.sleep(receiver.hang_seconds)
                    action = 200
                code = 302 if action == "redirect" else int(action)
                with receiver._lock:
                    receiver.received.append(Received(self.path, headers.get("webhook-id", ""), headers, payload, code))
                self._answer(code, "/elsewhere" if action == "redirect" else None)

            def _answer(self, code: int, location: str | None) -> None:
                self.send_response(code)
                if location:
                    self.send_header("Location", location)
                reply = json.dumps({"status": code}).encode()
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        return Handler


def produce_alerts(bootstrap: str, topic: str, records: list[AlertRecord] | list[bytes], key: str = "",
                   partition: int | None = None) -> None:
    """Put records on the alerts topic as the stream does: key = tenant id, value = the record's JSON
    (on `partition` if given, else where the key puts it)."""
    producer = Producer({"bootstrap.servers": bootstrap})
    where = {} if partition is None else {"partition": partition}
    for record in records:
        if isinstance(record, AlertRecord):
            producer.produce(topic, key=record.tenant_id.encode(), value=record.model_dump_json().encode(), **where)
        else:
            producer.produce(topic, key=key.encode(), value=record, **where)
    assert producer.flush(30) == 0, "the broker did not take the alert records"

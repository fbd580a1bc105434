"""For the statement tests: events priced by the real engine and stored as the sink stores
them, a StatementBook on a fresh database of the session's embedded ClickHouse, and running
the real `bean-check` and `hledger check` on a journal."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from meterstream.pricing import Pricer, load_catalog
from meterstream.schemas import PricedUsage, Service, UsageEvent
from meterstream.sinks.base import SinkRecord
from meterstream.sinks.clickhouse import ClickHouseSink
from meterstream.statements.book import StatementBook
from meterstream.statements.lease import CloseLeases
from meterstream.statements.settings import StatementSettings
from tests.conftest import unique_name

PRICER = Pricer(load_catalog())
SERVICES = {"tokens": Service.TEXT, "images": Service.IMAGE, "video": Service.VIDEO, "characters": Service.SPEECH}
DECEMBER_1 = datetime(2026, 12, 1, 9, tzinfo=UTC)  # October closed by itself, November in its grace


class Clock:
    def __init__(self, now: datetime = DECEMBER_1) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def usage_event(at: datetime, model: str = "gemini-2.5-flash", usage: dict[str, Any] | None = None,
                tenant: str = "acme", customer: str | None = None, event_id: uuid.UUID | None = None) -> UsageEvent:
    usage = usage or {"unit": "tokens", "input_tokens": 1000, "output_tokens": 100}
    return UsageEvent(tenant_id=tenant, session_id="s1", service=SERVICES[usage["unit"]], model=model,
                      occurred_at=at, usage=usage, attributes={"customer": customer} if customer else {},
                      **({"event_id": event_id} if event_id else {}))


class Ledger:
    """A database with the sink's tables, events stored through the sink's own writer."""

    def __init__(self, client, tmp: Path, clock: Clock | None = None, **settings: Any) -> None:
        self.client = client
        self.database = unique_name("stm")
        self.sink = ClickHouseSink(client, self.database)
        self.clock = clock or Clock()
        self.notified: list[tuple[str, str, str, str]] = []
        self.book = StatementBook(client, self.database, StatementSettings(**settings),
                                  CloseLeases(tmp / f"{self.database}.sqlite3"), notify=self._notify,
                                  clock=self.clock)
        self._batches = 0

    def _notify(self, message_id: str, tenant: str, kind: str, body: str) -> bool:
        self.notified.append((message_id, tenant, kind, body))
        return True

    def store(self, *events: UsageEvent) -> list[PricedUsage]:
        priced = [PRICER.price(e) for e in events]
        self._batches += 1
        self.sink.write([SinkRecord(p, 0, self._batches * 100_000 + i) for i, p in enumerate(priced)],
                        f"batch-{self.database}-{self._batches}")
        return priced


def total_cost(priced: list[PricedUsage]) -> Decimal:
    return sum((p.total_cost for p in priced), Decimal(0))


def bean_check(path: Path) -> subprocess.CompletedProcess:
    """The real bean-check of the beancount package installed beside this Python."""
    binary = Path(sys.executable).with_name("bean-check")
    return subprocess.run([str(binary), str(path)], capture_output=True, text=True, timeout=120)


def hledger_check(path: Path) -> subprocess.CompletedProcess | None:
    """`hledger check --strict` (declared accounts and commodities), or None without hledger."""
    binary = shutil.which("hledger")
    if binary is None:
        return None
    return subprocess.run([binary, "-f", str(path), "check", "--strict"], capture_output=True, text=True, timeout=120)

"""The demo's spend control: budgets set before the stream, their live spend, the alerts
they raise, and a reservation refused and one granted and settled at the end."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import orjson
from confluent_kafka import Consumer, KafkaError
from rich.table import Table

from meterstream.budgets import commands
from meterstream.budgets.client import BudgetClient
from meterstream.budgets.ledger import budget_status
from meterstream.pricing import Pricer, load_catalog, load_tenants
from meterstream.producers import BudgetExceeded, UsageEmitter
from meterstream.schemas import UsageEvent
from meterstream.schemas.budgets import BudgetAction, BudgetDefinition, BudgetPeriod, BudgetScope, ScopeKind

# A Veo 3 clip of 8 s with audio: 3.20 USD at list price.
VIDEO_PLAN = {"unit": "video", "seconds": "8", "with_audio": True, "resolution": "720p"}


class DemoBudgets:
    def __init__(self, settings, tenant_id: str) -> None:
        self.settings, self.tenant_id = settings, tenant_id
        self.client = BudgetClient(settings)
        self.alerts: dict[str, dict] = {}
        self.consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"demo-{uuid.uuid4().hex}",
                                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
        self.consumer.subscribe([settings.topic_alerts])
        self.notes: list[str] = []

    def define(self, workload: list[UsageEvent]) -> None:
        """A monthly budget the stream will pass (90 % of what it costs: every threshold alerts),
        and a blocking daily budget for the busiest user with a little room left at the end."""
        pricer = Pricer(load_catalog(self.settings.catalog), load_tenants(self.settings.tenant_pricing_file))
        by_user: dict[str, Decimal] = {}
        total = Decimal(0)
        for event in workload:
            cost = pricer.price(event).total_cost
            total += cost
            by_user[event.user_id or ""] = by_user.get(event.user_id or "", Decimal(0)) + cost
        self.busiest = max(by_user, key=by_user.__getitem__)
        now = datetime.now(UTC)
        limits = [("studio monthly", BudgetScope(), BudgetPeriod.MONTH, (total * Decimal("0.9")).quantize(Decimal(1)),
                   BudgetAction.NOTIFY),
                  (f"{self.busiest} daily", BudgetScope(kind=ScopeKind.USER, value=self.busiest), BudgetPeriod.DAY,
                   (by_user[self.busiest] + Decimal(2)).quantize(Decimal(1)), BudgetAction.BLOCK)]
        for name, scope, period, limit, action in limits:
            self.client.ask(commands.define(BudgetDefinition(
                budget_id=f"demo-{name.split()[-1]}", tenant_id=self.tenant_id, name=name, scope=scope, period=period,
                limit=limit, action=action, created_at=now, updated_at=now)))

    def table(self) -> Table:
        table = Table(title="Budgets (live, from the worker)")
        for column in ("budget", "action", "spent", "reserved", "limit", "used", "alerts at"):
            table.add_column(column, justify="left" if column in ("budget", "action") else "right")
        state = self.client.tenant_state(self.tenant_id) or {"budgets": {}}
        for entry in state["budgets"].values():
            figures = budget_status(entry, datetime.now(UTC))
            used = figures["spent"] / figures["limit"] * 100
            table.add_row(entry["def"]["name"], entry["def"]["action"], f"{figures['spent']:.2f}",
                          f"{figures['reserved']:.2f}", f"{figures['limit']:.2f}", f"{used:.0f}%",
                          " ".join(f"{t}%" for t in figures["thresholds_crossed"]) or "-")
        return table

    def alerts_table(self, wait: bool = False) -> Table:
        self._read_alerts(2.0 if wait else 0)
        table = Table(title="Alerts (usage.alerts)")
        table.add_column("raised (UTC)")
        table.add_column("alert")
        for alert in sorted(self.alerts.values(), key=lambda a: a["raised_at"]):
            table.add_row(alert["raised_at"][11:19], alert["title"])
        for note in self.notes:
            table.add_row("", note)
        return table

    def _read_alerts(self, linger: float) -> None:
        while (message := self.consumer.poll(linger)) is not None:
            if message.error() is None:
                alert = orjson.loads(message.value())
                self.alerts[alert["alert_id"]] = alert
            elif message.error().code() != KafkaError._PARTITION_EOF:
                break

    def reserve_and_settle(self, emitter: UsageEmitter, workload: list[UsageEvent]) -> int:
        """Admission control in the busiest user's session: a Veo clip its budget has no room
        for is refused before the call; a small text call is granted, then settled by its
        usage. Returns how many events that added (settlements)."""
        session_id = next(e.session_id for e in workload if e.user_id == self.busiest)
        plan = {"tenant_id": self.tenant_id, "session_id": session_id, "user_id": self.busiest}
        added = 0
        try:
            with emitter.reserve("veo-3.0-generate", VIDEO_PLAN, **plan) as hold:
                hold.settle()
                added += 1
                self.notes.append(f"a {hold.amount} USD video reservation was granted and settled")
        except BudgetExceeded as refused:
            self.notes.append(f"refused before the call: {refused}")
        try:
            with emitter.reserve("gemini-2.5-flash", {"unit": "tokens", "input_tokens": 2000, "output_tokens": 500},
                                 **plan) as hold:
                hold.settle()
                added += 1
                self.notes.append(f"a {hold.amount} USD text call was granted, then settled by its usage")
        except BudgetExceeded as refused:
            self.notes.append(f"refused before the call: {refused}")
        return added

    def close(self) -> None:
        self.consumer.close()
        self.client.close()

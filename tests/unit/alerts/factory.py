"""AlertRecords for the alert tests, shaped as the stream raises them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from meterstream.schemas.alerts import AlertEvent, AlertKind, AlertRecord, BudgetAlert, alert_id


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

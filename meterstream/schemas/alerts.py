"""Alerts: one record per budget threshold crossed, forecast or anomaly, on `usage.alerts`.

Each alert has a deterministic id, a hash of what it is about (for a threshold: tenant,
budget, its revision, period and threshold), so the pipeline may raise it again after a
replay and every reader (webhook delivery, the dashboard, receivers) still sees it once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class AlertKind(StrEnum):
    BUDGET_THRESHOLD = "budget.threshold"
    BUDGET_FORECAST = "budget.forecast"
    ANOMALY_SPEND = "anomaly.spend"  # an hour's spend far above its baseline (meterstream/insights/anomaly.py)
    ANOMALY_BURST = "anomaly.burst"  # five minutes' spend far above the hour's baseline


ANOMALY_KINDS = frozenset({AlertKind.ANOMALY_SPEND, AlertKind.ANOMALY_BURST})


class AlertEvent(BaseModel):
    """The usage event that made the alert happen."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    session_id: str
    user_id: str | None = None
    service: str
    model: str
    cost: Decimal
    occurred_at: AwareDatetime


class BudgetAlert(BaseModel):
    model_config = ConfigDict(frozen=True)

    budget_id: str
    name: str
    period_start: AwareDatetime
    period_end: AwareDatetime | None  # None for a lifetime budget
    threshold: Decimal | None = Field(default=None, description="Percent of the limit, for a threshold alert.")
    spent: Decimal
    limit: Decimal
    currency: str
    action: str
    runs_out_at: AwareDatetime | None = Field(
        default=None, description="For a forecast alert: when the limit is reached at the period's rate so far.")


class AnomalyDriver(BaseModel):
    """Who and what spent in the anomalous window: a user's use of a model in a service."""

    model_config = ConfigDict(frozen=True)

    user_id: str | None = None
    model: str
    service: str
    spent: Decimal
    expected: Decimal


class AnomalyAlert(BaseModel):
    model_config = ConfigDict(frozen=True)

    series: str = Field(description="`tenant` (all its spend) or `user_model` (one user's spend on one model).")
    window_start: AwareDatetime
    window_minutes: int = Field(description="60 for an hour's spend, 5 for a burst.")
    spent: Decimal = Field(description="Spend in the window when the alert was raised (the window may go on).")
    expected: Decimal = Field(description="The baseline: the median of comparable past windows.")
    threshold: Decimal = Field(description="Spend above this is unusual: expected plus k robust deviations.")
    history_hours: int = Field(description="Hours of history behind the baseline (few = a wide band).")
    currency: str
    drivers: list[AnomalyDriver] = Field(default_factory=list, description="The largest excess first.")


class AlertRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    alert_id: str
    kind: AlertKind
    tenant_id: str
    raised_at: AwareDatetime
    title: str
    budget: BudgetAlert | None = None
    event: AlertEvent | None = None
    anomaly: AnomalyAlert | None = None

    def webhook_payload(self) -> dict:
        """The body of the webhook: the Standard Webhooks envelope {type, timestamp, data}."""
        return {"type": self.kind.value, "timestamp": self.raised_at.isoformat(), "data": self.model_dump(mode="json")}


def alert_id(*parts: object) -> str:
    """A deterministic id from what the alert is about."""
    return "alr_" + hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


def format_money(amount: Decimal, currency: str) -> str:
    """Money in a title: 2 decimals at least, more only when they are not zero (0.000123)."""
    text = format(amount.normalize(), "f")
    whole, _, fraction = text.partition(".")
    fraction = fraction.ljust(2, "0")
    return f"{whole}.{fraction} {currency}"


def period_label(start: datetime, period: str) -> str:
    return {"day": f"{start:%Y-%m-%d}", "week": f"week of {start:%Y-%m-%d}", "month": f"{start:%Y-%m}"}.get(
        period, "lifetime")

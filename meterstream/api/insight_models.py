"""Response bodies of the insights routes (routes/insights.py). Money as decimal strings;
unpriced usage is counted and named, never shown as 0."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from meterstream.api.models import Money
from meterstream.schemas.alerts import AlertRecord


class RecommendationOut(BaseModel):
    rule_id: str
    kind: str
    model: str = Field(description="The catalog model the touched usage was priced as.")
    alternative: str = Field(description="The cheaper model, mode or setting.")
    operations: int
    cost: Money = Field(description="What the touched usage cost.")
    would_cost: Money = Field(description="What the same quantities cost under the alternative.")
    saving: Money
    share_of_cost: Decimal = Field(description="Share of the period's priced cost it touches (0-1).")
    share_of_operations: Decimal
    currency: str
    trade_off: str


class RecommendationsOut(BaseModel):
    start: datetime
    end: datetime
    total_cost: Money = Field(description="The period's priced cost.")
    operations: int
    unpriced_operations: int = Field(description="Operations stored unpriced: no saving is claimed on them.")
    inexact_groups: int = Field(description="Usage left out because a unit price has more than 12 places.")
    recommendations: list[RecommendationOut]
    saving: Money = Field(description="The sum of the savings. Rules may overlap (a swap and batch mode on the "
                                      "same calls): take it as an upper bound.")


class AnomaliesOut(BaseModel):
    anomalies: list[AlertRecord]


class TopRow(BaseModel):
    key: dict[str, str] = Field(description="What the row is: event_id, session_id, user_id or service+operation.")
    operations: int
    cost: Money | None = Field(description="Priced cost; null for an unpriced operation.")
    unpriced_operations: int
    currency: str
    first_at: datetime
    last_at: datetime
    model: str | None = None
    service: str | None = None


class TopOut(BaseModel):
    by: str
    start: datetime
    end: datetime
    rows: list[TopRow]


class DistributionOut(BaseModel):
    by: str
    currency: str
    units: int = Field(description="How many sessions or users with priced usage (the figures are over these).")
    p50: Money
    p90: Money
    p99: Money
    max: Money
    total: Money
    with_unpriced: int = Field(description="Sessions or users with unpriced operations (their priced part counts).")
    unpriced_only: int = Field(description="Sessions or users with unpriced operations only: left out of the "
                                           "figures, never counted as 0.")


class DistributionsOut(BaseModel):
    start: datetime
    end: datetime
    distributions: list[DistributionOut]


class ChangeOut(BaseModel):
    service: str
    model: str
    currency: str
    current: Money
    previous: Money
    change: Money
    ratio: Decimal | None = Field(description="current / previous; null when the previous period cost nothing.")
    current_unpriced: int
    previous_unpriced: int


class ComparisonOut(BaseModel):
    start: datetime
    end: datetime
    previous_start: datetime
    changes: list[ChangeOut]


class ForecastOut(BaseModel):
    month: str
    at: datetime
    currency: str
    spent: Money
    forecast: Money
    low: Money
    high: Money
    days_elapsed: int
    remaining_days: Decimal
    daily_median: Money
    unpriced_operations: int
    rule: str

"""Request and response bodies of the HTTP API (the OpenAPI schema is generated from these).

Money is exact: Decimal inside, a decimal string in JSON ("0.0003", never a float, never
an exponent).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer

from meterstream.pricing.money import money_text
from meterstream.schemas import BillingMode, Service, SessionTotals, Usage, UsageEvent
from meterstream.schemas.budgets import (
    DEFAULT_THRESHOLDS,
    Amount,
    BudgetAction,
    BudgetPeriod,
    BudgetScope,
    Percent,
)
from meterstream.schemas.usage import Identifier


Money = Annotated[Decimal, PlainSerializer(money_text, return_type=str, when_used="json")]
Quantity = Annotated[Decimal, PlainSerializer(money_text, return_type=str, when_used="json")]
Labels = dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=256)]]


class Problem(BaseModel):
    """An error answer: what went wrong, and for invalid input each field and reason."""

    detail: str
    errors: list[FieldError] = Field(default_factory=list)


class FieldError(BaseModel):
    field: str
    reason: str


Problem.model_rebuild()


# --- sessions -----------------------------------------------------------------------------

class SessionStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: Identifier | None = None
    labels: Labels = Field(default_factory=dict, max_length=32)


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # `session`: this session only; `user`: every session of this session's user.
    scope: Literal["session", "user"] = "session"
    # Default METERSTREAM_API_TOKEN_DEFAULT_TTL_SECONDS (900), at most …_TOKEN_MAX_TTL_SECONDS (86,400).
    expires_in_seconds: int | None = Field(default=None, ge=1)


class TokenOut(BaseModel):
    """A portal token: `Authorization: Bearer <token>` on this session's stats, summary and events."""

    token: str
    scope: Literal["session", "user"]
    session_id: str | None
    user_id: str | None
    expires_at: datetime


class SessionOut(BaseModel):
    session_id: str
    user_id: str | None
    labels: dict[str, str]
    status: Literal["active", "ended"]
    started_by: Literal["explicit", "implicit"]
    started_at: datetime
    ended_at: datetime | None


class ServiceStats(BaseModel):
    operations: int
    cost: Money
    unpriced_operations: int = Field(default=0, description="Counted in `operations`; their cost is unknown.")
    unpriced_tokens: int = Field(default=0, description="What the unpriced operations used: tokens (input, output, "
                                 "thinking and tool use), images, video seconds, characters.")
    unpriced_images: int = 0
    unpriced_video_seconds: Quantity = Decimal(0)
    unpriced_characters: int = 0
    models: list[str]


class SessionStats(BaseModel):
    """Live totals from the stream (the SessionTotals shape, money as strings)."""

    session_id: str
    currency: str
    total_cost: Money
    operations: int
    unpriced_operations: int
    unpriced_tokens: int = Field(default=0, description="What the unpriced operations used (as in ServiceStats).")
    unpriced_images: int = 0
    unpriced_video_seconds: Quantity = Decimal(0)
    unpriced_characters: int = 0
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    thinking_tokens: int
    tool_use_prompt_tokens: int = 0
    images: int
    video_seconds: Quantity
    characters: int
    by_service: dict[str, ServiceStats]
    first_event_at: datetime | None
    last_event_at: datetime | None

    @classmethod
    def of(cls, totals: SessionTotals) -> SessionStats:
        return cls.model_validate(totals.model_dump(exclude={"tenant_id"}))

    @classmethod
    def empty(cls, session_id: str, currency: str) -> SessionStats:
        return cls.of(SessionTotals(tenant_id="", session_id=session_id, currency=currency))


class ServiceSummary(BaseModel):
    service: str
    operations: int
    cost: Money
    unpriced_operations: int = 0
    models: list[str]


class SessionSummary(BaseModel):
    """A session as stored in ClickHouse: when it ran, how many operations, what it cost."""

    session_id: str
    status: Literal["active", "ended", "unknown"]
    started_at: datetime | None
    ended_at: datetime | None
    first_event_at: datetime | None
    last_event_at: datetime | None
    operations: int
    unpriced_operations: int
    total_cost: Money
    currency: str
    services: list[ServiceSummary]
    models: list[str]


# --- usage --------------------------------------------------------------------------------

class UsageIn(UsageEvent):
    """A usage event as a client sends it. `tenant_id` comes from the API key and may be
    left out; `event_id` is the idempotency key: send the same one again to retry safely."""

    tenant_id: Identifier | None = None  # type: ignore[assignment]  # filled from the API key


class UsageBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Items are validated one by one, so one bad item does not reject the batch.
    events: list[dict[str, Any]] = Field(
        min_length=1, max_length=1000,
        json_schema_extra={"items": {"$ref": "#/components/schemas/UsageIn"}},
    )


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    event_id: uuid.UUID
    session_id: str


class BatchItem(BaseModel):
    index: int
    status: Literal["accepted", "rejected"]
    event_id: uuid.UUID | None = None
    session_id: str | None = None
    errors: list[FieldError] = Field(default_factory=list)


class BatchResult(BaseModel):
    accepted: int
    rejected: int
    items: list[BatchItem]


# --- pricing ------------------------------------------------------------------------------

class EstimateIn(BaseModel):
    """A planned operation: what would it cost?"""

    model_config = ConfigDict(extra="forbid")

    service: Service
    model: str = Field(min_length=1, max_length=128)
    usage: Usage
    billing_mode: BillingMode = BillingMode.STANDARD
    occurred_at: AwareDatetime | None = Field(default=None, description="When it would run; default now.")


class CostLineOut(BaseModel):
    component: str
    quantity: Quantity
    unit: str
    unit_price: Money
    cost: Money


class EstimateOut(BaseModel):
    status: Literal["priced", "unpriced"]
    model: str
    total_cost: Money | None = Field(description="null when the operation cannot be priced (see `reason`), never 0.")
    currency: str
    lines: list[CostLineOut]
    catalog_version: str
    reason: str | None = Field(default=None, description="Why the operation is unpriced.")


class LongContextOut(BaseModel):
    above_tokens: int = Field(description="A prompt of more tokens bills the whole request at these prices.")
    prices: dict[str, Money] = Field(description="Per `per` tokens; components not listed keep their standard price.")


class PriceOut(BaseModel):
    """One catalog entry with every rule the pricer applies to it."""

    model: str
    billing_unit: str
    per: int
    prices: dict[str, Money] = Field(
        description="Per `per` units. A component may name a variant after '@' (a resolution: `second@1080p`).")
    long_context: LongContextOut | None = None
    batch_factor: Quantity | None = Field(
        default=None, description="Batch mode bills this × the standard prices (cache prices unchanged); "
                                  "null: no batch mode.")
    free_tier: bool = Field(default=False, description="Whether a free mode exists (counted at no cost).")
    voice_tier: str | None = Field(default=None, description="The Text-to-Speech voice tier this entry prices.")
    currency: str
    source: str
    effective_from: str
    read_on: str
    in_force: bool


class PricingOut(BaseModel):
    catalog_version: str
    currency: str
    prices: list[PriceOut]


# --- activity and reports -----------------------------------------------------------------

class OperationOut(BaseModel):
    event_id: uuid.UUID
    occurred_at: datetime
    session_id: str
    user_id: str | None
    service: str
    operation: str
    provider: str
    model: str
    billing_unit: str
    billing_mode: str
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    thinking_tokens: int
    audio_input_tokens: int
    tool_use_prompt_tokens: int
    images: int
    video_seconds: Quantity
    characters: int
    cost: Money
    cost_lines: dict[str, Money]
    currency: str
    catalog_version: str
    pricing_status: str
    unpriced_reason: str | None
    attributes: dict[str, str]


class SessionExport(BaseModel):
    session_id: str
    currency: str
    total_cost: Money
    operations: list[OperationOut]


class UsageMeasures(BaseModel):
    operations: int = 0
    cost: Money = Decimal(0)
    unpriced_operations: int = 0
    unpriced_tokens: int = Field(default=0, description="What the unpriced operations used (as in ServiceStats).")
    unpriced_images: int = 0
    unpriced_video_seconds: Quantity = Decimal(0)
    unpriced_characters: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    thinking_tokens: int = 0
    tool_use_prompt_tokens: int = 0
    images: int = 0
    video_seconds: Quantity = Decimal(0)
    characters: int = 0


class ReportRow(UsageMeasures):
    keys: dict[str, str]
    currency: str


class ReportPeriod(BaseModel):
    start: datetime
    end: datetime
    rows: list[ReportRow]
    totals: dict[str, UsageMeasures] = Field(description="Per currency.")


class PeriodChange(BaseModel):
    currency: str
    cost: Money = Field(description="This period's cost minus the previous period's.")
    cost_ratio: Quantity | None = Field(
        description="This period's cost over the previous one's, to 6 decimal places; null if that was 0.")
    operations: int


class UsageReportOut(BaseModel):
    group_by: list[str]
    attribute: str | None
    current: ReportPeriod
    previous: ReportPeriod | None
    change: list[PeriodChange]


class Health(BaseModel):
    status: Literal["ok"]


class IngestionHealth(BaseModel):
    """What the stream made of the tenant's usage messages so far (the worker's ledger)."""

    priced: int = 0
    unpriced: int = 0
    duplicates: int = Field(default=0, description="Re-sent event ids with the same content: dropped, harmless.")
    conflicts: int = Field(default=0, description="Re-sent event ids with other content: the first one counts; "
                                                  "these were dropped and need a look.")
    dead_lettered: int = 0


# --- budgets and reservations -------------------------------------------------------------

class BudgetIn(BaseModel):
    """A new budget. The tenant is the API key's; the currency, if given, must be the tenant's."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    scope: BudgetScope = BudgetScope()
    period: BudgetPeriod = BudgetPeriod.MONTH
    limit: Amount
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    thresholds: list[Percent] = Field(default_factory=lambda: list(DEFAULT_THRESHOLDS), min_length=1, max_length=10,
                                      description="Percent of the limit at which to alert, each in (0, 1000].")
    action: BudgetAction = BudgetAction.NOTIFY


class BudgetChange(BaseModel):
    """Fields to change; the others keep their values. A new scope or period counts afresh."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=128)
    scope: BudgetScope | None = None
    period: BudgetPeriod | None = None
    limit: Amount | None = None
    thresholds: list[Percent] | None = Field(default=None, min_length=1, max_length=10)
    action: BudgetAction | None = None


class BudgetStatusOut(BaseModel):
    """The budget's current period, as the stream counted it a moment ago."""

    period_start: datetime
    period_end: datetime | None
    spent: Money
    reserved: Money
    remaining: Money
    operations: int
    unpriced_operations: int = Field(description="Operations counted whose cost is unknown (never shown as 0).")
    thresholds_crossed: list[Money]
    projected_spend: Money | None = Field(description="The period's spend at its rate so far (after a tenth of it).")
    runs_out_at: datetime | None


class BudgetOut(BaseModel):
    budget_id: str
    name: str
    scope: BudgetScope
    period: BudgetPeriod
    limit: Money
    currency: str
    thresholds: list[Money]
    action: BudgetAction
    revision: int
    created_at: datetime
    updated_at: datetime
    status: BudgetStatusOut


class ReservationCounts(BaseModel):
    """Reservations the tenant's usage settled, those that expired, and usage whose
    `reservation_id` named no held reservation (metered all the same)."""

    settled: int = 0
    expired: int = 0
    unknown_settlements: int = 0
    expired_settlements: int = 0


class BudgetList(BaseModel):
    budgets: list[BudgetOut]
    reservations: ReservationCounts = ReservationCounts()


class ReservationIn(EstimateIn):
    """A planned call to hold budget for: the estimate's body plus the call's scope."""

    session_id: Identifier
    user_id: Identifier | None = None
    attributes: Labels = Field(default_factory=dict, max_length=32)
    ttl_seconds: int | None = Field(default=None, ge=1, le=7 * 86_400,
                                    description="Release the hold after this long if no usage settles it.")


class ReservationOut(BaseModel):
    reservation_id: str
    amount: Money
    currency: str
    expires_at: datetime
    budgets: list[str] = Field(description="Ids of the budgets the amount is held against.")


class BudgetRefusal(BaseModel):
    budget_id: str
    name: str
    limit: Money
    spent: Money
    reserved: Money
    remaining: Money


class ReservationRefused(BaseModel):
    """402: the call would pass a blocking budget."""

    detail: str
    amount: Money
    currency: str
    refused_by: list[BudgetRefusal]

"""A priced usage event: what the stream emits onto `usage.priced` and the sink stores."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from meterstream.schemas.usage import UsageEvent


class PricingStatus(StrEnum):
    PRICED = "priced"
    UNPRICED = "unpriced"


class CostLine(BaseModel):
    """One billed component: quantity × unit price = cost, e.g. 1,200 output tokens."""

    model_config = ConfigDict(frozen=True)

    component: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    cost: Decimal


class SourcePosition(BaseModel):
    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    offset: int


class PricedUsage(BaseModel):
    model_config = ConfigDict(frozen=True)

    event: UsageEvent
    status: PricingStatus
    lines: tuple[CostLine, ...] = ()
    total_cost: Decimal = Decimal(0)
    currency: str = "USD"
    catalog_version: str
    reason: str | None = Field(default=None, description="Why the event is unpriced, when it is.")
    source: SourcePosition | None = None
    replayed: bool = Field(
        default=False,
        description="Emitted again for a message the worker had already processed (a replay after a crash); "
        "the sink checks such records against what it already stored.",
    )
    priced_as: str | None = Field(
        default=None, description="The catalog model whose prices applied (canonical name of an alias, or a fallback)."
    )
    price_effective_from: date | None = Field(default=None, description="Start of the price version that applied.")
    rules: tuple[str, ...] = Field(default=(), description="Billing rules that shaped the price, in words.")
    tenant_pricing: str | None = Field(
        default=None,
        description="Which version of the tenant's own pricing applied: 'list' for list prices, else 'tp-' and a "
        "hash of the tenant's pricing rules (discount, custom prices, policy), so a statement can name it.")

    @model_validator(mode="after")
    def _total_is_sum_of_lines(self) -> PricedUsage:
        if sum((line.cost for line in self.lines), Decimal(0)) != self.total_cost:
            raise ValueError("total_cost must equal the sum of the cost lines")
        return self

"""Estimates: what a planned call will cost, before it is made, by the same rules as billing.

An estimate prices a synthetic usage event through the same Pricer the stream uses, so
tiers, batch and free modes, tenant pricing and unknown-model policies all apply the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter

from meterstream.pricing.catalog import Catalog, load_catalog
from meterstream.pricing.engine import Pricer
from meterstream.schemas import BillingMode, CostLine, PricingStatus, Service, Usage, UsageEvent

SERVICE_FOR_UNIT = {"tokens": Service.TEXT, "images": Service.IMAGE, "video": Service.VIDEO,
                    "characters": Service.SPEECH}
_UNIT_MARKERS = (("images", "images"), ("seconds", "video"), ("characters", "characters"))
_usage_adapter: TypeAdapter[Any] = TypeAdapter(Usage)


class Estimate(BaseModel):
    """The cost breakdown of a planned call."""

    model_config = ConfigDict(frozen=True)

    model: str
    priced_as: str | None
    at: datetime
    billing_mode: BillingMode
    status: PricingStatus
    lines: tuple[CostLine, ...]
    total_cost: Decimal | None  # None when the call cannot be priced (see `reason`): unknown, not 0
    currency: str
    catalog_version: str
    price_effective_from: date | None
    reason: str | None
    rules: tuple[str, ...]


def planned_usage(values: Mapping[str, Any]) -> Any:
    """A Usage from plain quantities; the unit follows from the keys when `unit` is absent."""
    data = dict(values)
    if "unit" not in data:
        data["unit"] = next((unit for key, unit in _UNIT_MARKERS if key in data), "tokens")
    return _usage_adapter.validate_python(data)


def estimate(
    model: str,
    usage: Any,
    tenant: str | None = None,
    *,
    pricer: Pricer | None = None,
    catalog: Catalog | None = None,
    at: datetime | None = None,
    billing_mode: BillingMode = BillingMode.STANDARD,
) -> Estimate:
    """Price planned usage of `model` for `tenant` at `at` (default now).

    `usage` is a TokenUsage/ImageUsage/VideoUsage/CharacterUsage or a mapping of quantities.
    Raises UnknownModelRejected when the tenant's policy rejects an unknown model.
    """
    pricer = pricer or Pricer(catalog or load_catalog())
    if isinstance(usage, Mapping):
        usage = planned_usage(usage)
    event = UsageEvent(
        event_id=uuid.UUID(int=0), occurred_at=at or datetime.now(UTC), tenant_id=tenant or "estimate",
        session_id="estimate", service=SERVICE_FOR_UNIT[usage.unit], operation="estimate", model=model,
        billing_mode=billing_mode, usage=usage,
    )
    priced = pricer.price(event)
    return Estimate(
        model=model, priced_as=priced.priced_as, at=event.occurred_at, billing_mode=billing_mode,
        status=priced.status, lines=priced.lines,
        total_cost=None if priced.status is PricingStatus.UNPRICED else priced.total_cost, currency=priced.currency,
        catalog_version=priced.catalog_version, price_effective_from=priced.price_effective_from,
        reason=priced.reason, rules=priced.rules,
    )

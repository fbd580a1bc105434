"""Per-tenant pricing: discounts or markups, negotiated unit prices, and the unknown-model policy.

A tenant pricing file (TOML) looks like:

    [default]                       # applies to every tenant not listed
    unknown_model = "unpriced"      # unpriced (the default) | fallback | reject
    unpriceable_usage = "unpriced"  # a known model's usage its entry cannot price (a video
                                    # resolution it does not list): unpriced (default) | reject

    [tenants.acme-creative]
    adjustment_percent = -10        # 10% off list prices; +15 would be a 15% markup
    unknown_model = "fallback"
    fallback_models = ["gemini-2.5-flash", "imagen-4.0-generate"]   # at most one per billing unit

    [tenants.acme-creative.custom_prices."gemini-2.5-pro"]
    output = 8.00                   # per the catalog entry's `per` units (here per 1M tokens)

Custom prices replace list prices in every tier and are not adjusted by the percentage;
batch and free-tier rules still apply to them.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from meterstream.pricing.errors import CatalogError

UNLISTED = "*"


class UnknownModelPolicy(StrEnum):
    UNPRICED = "unpriced"
    FALLBACK = "fallback"
    REJECT = "reject"


class UnpriceablePolicy(StrEnum):
    UNPRICED = "unpriced"
    REJECT = "reject"


class TenantPricing(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    adjustment_percent: Decimal = Field(default=Decimal(0), ge=-100)
    custom_prices: dict[str, dict[str, Decimal]] = Field(default_factory=dict)
    unknown_model: UnknownModelPolicy = UnknownModelPolicy.UNPRICED
    fallback_models: tuple[str, ...] = ()
    unpriceable_usage: UnpriceablePolicy = UnpriceablePolicy.UNPRICED


class TenantBook(BaseModel):
    """Every tenant's pricing; `get` falls back to `default` for tenants not listed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: TenantPricing = TenantPricing()
    tenants: dict[str, TenantPricing] = Field(default_factory=dict)

    def get(self, tenant_id: str) -> TenantPricing:
        return self.tenants.get(tenant_id, self.default)

    def items(self) -> list[tuple[str, TenantPricing]]:
        """(tenant id, pricing) for every listed tenant, then (UNLISTED, default)."""
        return [*sorted(self.tenants.items()), (UNLISTED, self.default)]


def load_tenants(path: Path | str | None) -> TenantBook:
    """Read a tenant pricing file; None means no file (list prices for everyone, unknown -> unpriced)."""
    if path is None:
        return TenantBook()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(), parse_float=Decimal)
        return TenantBook.model_validate(data)
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as error:
        raise CatalogError(f"cannot read tenant pricing: {error}", str(path)) from None

"""The API's one door to pricing: estimates and the catalog in force.

A thin adapter over `meterstream.pricing`'s public functions (`load_catalog`,
`price_event`). When the pricing engine's richer `estimate()` lands, only this module
changes; the routes keep calling `PricingAdapter`.
"""

from __future__ import annotations

from meterstream.pricing import Catalog, PriceEntry, load_catalog, price_event
from meterstream.schemas import PricedUsage, UsageEvent

# A planned operation is priced as an event of this pseudo tenant/session; it is never sent.
ESTIMATE_TENANT = "estimate"
ESTIMATE_SESSION = "estimate"


class PricingAdapter:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    @classmethod
    def named(cls, name: str) -> PricingAdapter:
        return cls(load_catalog(name))

    def estimate(self, planned: UsageEvent) -> PricedUsage:
        """What `planned` would cost if it happened at its `occurred_at`."""
        return price_event(self.catalog, planned)

    def entries(self) -> tuple[PriceEntry, ...]:
        """Every catalog entry, the current and the superseded (each has its effective date)."""
        return self.catalog.entries

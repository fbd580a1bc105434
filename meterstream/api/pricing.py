"""The API's one door to pricing: estimates and the catalog in force.

A thin adapter over `meterstream.pricing`. Estimates go through a `Pricer` built from the
same settings as the stream's (the catalog and the tenant pricing file), so a caller is
quoted what the stream will bill its tenant: discounts, markups, custom prices and the
unknown-model policy included.
"""

from __future__ import annotations

from meterstream.pricing import Catalog, PriceEntry, Pricer, load_catalog, load_tenants
from meterstream.schemas import PricedUsage, UsageEvent
from meterstream.settings import Settings

# A planned operation is priced as an event of this pseudo session; it is never sent.
ESTIMATE_SESSION = "estimate"


class PricingAdapter:
    def __init__(self, pricer: Pricer) -> None:
        self.pricer = pricer

    @classmethod
    def from_settings(cls, settings: Settings) -> PricingAdapter:
        """The pricing the stream applies (see `meterstream.stream.app`)."""
        return cls(Pricer(load_catalog(settings.catalog), load_tenants(settings.tenant_pricing_file)))

    @property
    def catalog(self) -> Catalog:
        return self.pricer.catalog

    def estimate(self, planned: UsageEvent) -> PricedUsage:
        """What `planned` would cost its tenant if it happened at its `occurred_at`.

        Raises UnknownModelRejected when the tenant's policy rejects a model the catalog does not know.
        """
        return self.pricer.price(planned)

    def entries(self) -> tuple[PriceEntry, ...]:
        """Every catalog entry, the current and the superseded (each has its effective date)."""
        return self.catalog.entries

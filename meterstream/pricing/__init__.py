"""The price catalog and pure cost functions. Imports no infrastructure.

    catalog = load_catalog()                       # packaged default (Google list prices)
    priced = price_event(catalog, event)           # list prices, unknown models unpriced
    pricer = Pricer(catalog, load_tenants(path))   # with per-tenant pricing
    estimate("gemini-2.5-pro", TokenUsage(...), tenant="acme", pricer=pricer)
"""

from meterstream.pricing.catalog import Catalog, Version, load_catalog
from meterstream.pricing.engine import Pricer, price_event
from meterstream.pricing.entry import PriceEntry
from meterstream.pricing.errors import (
    CatalogError,
    PricingError,
    UnknownModelRejected,
    UnpriceableUsageRejected,
    UsageRejected,
)
from meterstream.pricing.estimate import Estimate, estimate
from meterstream.pricing.tenants import TenantBook, TenantPricing, UnknownModelPolicy, UnpriceablePolicy, load_tenants

__all__ = [
    "Catalog",
    "CatalogError",
    "Estimate",
    "PriceEntry",
    "Pricer",
    "PricingError",
    "TenantBook",
    "TenantPricing",
    "UnknownModelPolicy",
    "UnknownModelRejected",
    "UnpriceablePolicy",
    "UnpriceableUsageRejected",
    "UsageRejected",
    "Version",
    "estimate",
    "load_catalog",
    "load_tenants",
    "price_event",
]

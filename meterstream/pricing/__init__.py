"""The price catalog and pure cost functions. Imports no infrastructure."""

from meterstream.pricing.catalog import Catalog, PriceEntry, load_catalog
from meterstream.pricing.engine import price_event

__all__ = ["Catalog", "PriceEntry", "load_catalog", "price_event"]

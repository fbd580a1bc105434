"""Errors the pricing package raises on purpose."""

from __future__ import annotations

from meterstream.errors import MeterstreamError


class PricingError(MeterstreamError):
    """Base class of pricing errors."""


class CatalogError(PricingError, ValueError):
    """A price catalog (or tenant pricing file) is malformed; `source` names the file."""

    def __init__(self, message: str, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class UsageRejected(PricingError):
    """A tenant's policy rejects usage the catalog cannot price (the stream dead-letters it, the
    API answers 422); `field` names the part of the event at fault."""

    field = "(event)"


class UnknownModelRejected(UsageRejected):
    """A tenant's policy rejects usage of a model the catalog does not know (it goes to the DLQ)."""

    field = "model"

    def __init__(self, model: str, tenant_id: str, catalog_version: str) -> None:
        self.model = model
        self.tenant_id = tenant_id
        self.catalog_version = catalog_version
        super().__init__(
            f"model '{model}' is not in catalog {catalog_version} and tenant {tenant_id} rejects unknown models"
        )


class UnpriceableUsageRejected(UsageRejected):
    """A tenant's policy rejects usage of a known model that its entry cannot price exactly
    (a video resolution the entry does not list)."""

    def __init__(self, field: str, reason: str, tenant_id: str) -> None:
        self.field = field
        self.tenant_id = tenant_id
        super().__init__(f"{reason}, and tenant {tenant_id} rejects usage it cannot price")

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


class UnknownModelRejected(PricingError):
    """A tenant's policy rejects usage of a model the catalog does not know (it goes to the DLQ)."""

    def __init__(self, model: str, tenant_id: str, catalog_version: str) -> None:
        self.model = model
        self.tenant_id = tenant_id
        self.catalog_version = catalog_version
        super().__init__(
            f"model '{model}' is not in catalog {catalog_version} and tenant {tenant_id} rejects unknown models"
        )

"""Small builders shared by the pricing tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from meterstream.pricing import Catalog, Pricer, TenantBook, load_catalog
from meterstream.pricing.catalog import parse_catalog
from meterstream.schemas import BillingMode, CharacterUsage, ImageUsage, Service, TokenUsage, UsageEvent, VideoUsage

DEFAULT = load_catalog()
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # every default-catalog price below is in effect
M = Decimal(1_000_000)

SERVICES = {TokenUsage: Service.TEXT, ImageUsage: Service.IMAGE, VideoUsage: Service.VIDEO,
            CharacterUsage: Service.SPEECH}


def event(model: str, usage: Any, *, at: datetime = NOW, mode: str = "standard", tenant: str = "acme",
          session: str = "s1") -> UsageEvent:
    return UsageEvent(tenant_id=tenant, session_id=session, service=SERVICES[type(usage)], model=model,
                      occurred_at=at, billing_mode=BillingMode(mode), usage=usage)


def tokens(**counts: int) -> TokenUsage:
    return TokenUsage(**counts)


def price(model: str, usage: Any, *, catalog: Catalog = DEFAULT, tenants: TenantBook | None = None, **kw: Any):
    return Pricer(catalog, tenants).price(event(model, usage, **kw))


def costs(priced: Any) -> dict[str, Decimal]:
    return {line.component: line.cost for line in priced.lines}


def catalog(*entries: dict[str, Any], aliases: dict[str, str] | None = None, version: str = "test") -> Catalog:
    """A catalog from entry dicts; source/read_on default so tests state only what matters."""
    full = [{"source": "test", "read_on": "2026-01-01", **entry} for entry in entries]
    return parse_catalog({"version": version, "entries": full, "aliases": aliases or {}}, "test")

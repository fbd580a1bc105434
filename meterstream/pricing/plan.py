"""A re-pricing plan: the pricing decisions for stored usage, flattened into data a SQL query can join.

Re-pricing runs in the database over stored quantities; the decisions stay here, made by
the same Pricer that prices live events:

- `targets` maps each stored (tenant, model, voice tier) to a rate key (or "" when the
  usage would be unpriced): aliases, fallbacks and the requested model swap resolved;
- `rates` holds, per rate key, billing mode and price version, the unit prices of every
  component after all rules (batch, free, tenant adjustments, fallbacks between
  components), plus the long-context threshold and prices.

Re-pricing then only looks prices up and multiplies, per group of summed quantities or per
row (see sinks/clickhouse/reprice.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from meterstream.pricing.catalog import Catalog
from meterstream.pricing.engine import Pricer
from meterstream.pricing.errors import PricingError

SEPARATOR = "\x1f"  # joins tenant, model and voice tier into one lookup key
OPEN_END = datetime(2299, 12, 31, tzinfo=UTC)  # the last instant ClickHouse DateTime64 holds, near enough


def usage_key(tenant_id: str, model: str, voice_tier: str) -> str:
    return SEPARATOR.join((tenant_id, model, voice_tier))


@dataclass(frozen=True, slots=True)
class RateRow:
    rate_key: str
    billing_mode: str
    unit: str
    valid_from: datetime
    valid_to: datetime
    threshold: int  # 0 = no long-context tier
    prices: tuple[tuple[str, Decimal], ...]
    long_prices: tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True)
class RepricePlan:
    catalog_version: str
    targets: Mapping[str, str]  # usage_key(...) -> rate key ("" = unpriced)
    rates: tuple[RateRow, ...]

    @staticmethod
    def target_model(rate_key: str) -> str:
        return rate_key.rsplit(SEPARATOR, 1)[-1]


def _swap_table(catalog: Catalog, swap: Mapping[str, str]) -> dict[str, str]:
    table = {}
    for old, new in swap.items():
        source, target = catalog.resolve(old), catalog.resolve(new)
        if source is None or target is None:
            raise PricingError(f"cannot swap '{old}' for '{new}': "
                               f"'{old if source is None else new}' is not in catalog {catalog.version}")
        units = {catalog.versions(source)[0].entry.unit, catalog.versions(target)[0].entry.unit}
        if len(units) > 1:
            raise PricingError(f"cannot swap '{old}' for '{new}': they bill different units {sorted(units)}")
        table[source] = target
    return table


def build_plan(pricer: Pricer, usage: Iterable[tuple[str, str, str, str]],
               swap: Mapping[str, str] | None = None) -> RepricePlan:
    """Plan the re-pricing of stored usage given as distinct (tenant, model, unit, voice tier) rows."""
    swaps = _swap_table(pricer.catalog, swap or {})
    targets: dict[str, str] = {}
    rows: dict[tuple[str, str, datetime], RateRow] = {}
    for tenant_id, model, unit, voice_tier in usage:
        canonical = pricer.resolve_for(tenant_id, model, unit, voice_tier or None)
        if canonical is None:
            targets[usage_key(tenant_id, model, voice_tier)] = ""
            continue
        canonical = swaps.get(canonical, canonical)
        whose, cards = pricer.cards_for(tenant_id, canonical)
        rate_key = f"{whose}{SEPARATOR}{canonical}"
        targets[usage_key(tenant_id, model, voice_tier)] = rate_key
        for version, card in cards:
            for (mode, long), table in card.tables.items():
                if long:
                    continue
                key = (rate_key, mode.value, version.start)
                if key in rows:
                    continue
                long_table = card.tables.get((mode, True), {})
                rows[key] = RateRow(
                    rate_key=rate_key, billing_mode=mode.value, unit=card.entry.unit, valid_from=version.start,
                    valid_to=version.end or OPEN_END, threshold=card.threshold or 0,
                    prices=tuple(sorted(table.items())), long_prices=tuple(sorted(long_table.items())),
                )
    return RepricePlan(pricer.catalog.version, targets, tuple(rows[key] for key in sorted(rows)))

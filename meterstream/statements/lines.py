"""Line items from aggregated usage, and the arithmetic of adjustments. Pure.

A month's usage of one statement (a tenant, or one value of an attribute) is a `Usage`: per
line key (service, model, billing unit, cost component, unit price, currency) the events
billed on that line, their quantity and their amount; unpriced usage apart, per service,
model and billing unit, with its quantity in that unit and no amount; and the number of
events. The unit price is part of the key, so every line is one price: quantity × unit price
is the line's amount (up to the half-to-even rounding of single events' costs to 12 places,
which only prices with more than 12 places need), and a price change inside the month, a
tenant discount or a long-context tier each make a line of their own.

Usage adds and subtracts exactly (Decimal, integers). Adjustments are a subtraction: what a
closed month holds now minus what was already billed for it (its frozen statement, and the
adjustments for it on statements closed since). An event that reached ClickHouse after the
close is in the first and not the second; a re-sent event (same event_id, one row under
FINAL) is in both, so it changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)

# The unit of one line's quantity, by billing unit (the engine's CostLine units).
LINE_UNITS = {"tokens": "token", "images": "image", "video": "second", "characters": "character"}


@dataclass(frozen=True, order=True)
class LineKey:
    service: str
    model: str
    billing_unit: str
    component: str
    unit_price: str  # the exact price of one unit as the engine applied it; '' if not stored
    currency: str


@dataclass(frozen=True, order=True)
class UnpricedKey:
    service: str
    model: str
    billing_unit: str


@dataclass(frozen=True)
class Tally:
    events: int = 0
    quantity: Decimal = ZERO
    amount: Decimal = ZERO

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.events + other.events, self.quantity + other.quantity, self.amount + other.amount)

    def __sub__(self, other: Tally) -> Tally:
        return Tally(self.events - other.events, self.quantity - other.quantity, self.amount - other.amount)

    def __bool__(self) -> bool:
        return bool(self.events or self.quantity or self.amount)


def _combine(a: Mapping[Any, Tally], b: Mapping[Any, Tally], sign: int) -> dict[Any, Tally]:
    out = dict(a)
    for key, tally in b.items():
        out[key] = out.get(key, Tally()) + tally if sign > 0 else out.get(key, Tally()) - tally
    return {key: tally for key, tally in out.items() if tally}


@dataclass(frozen=True)
class Usage:
    lines: Mapping[LineKey, Tally] = field(default_factory=dict)
    unpriced: Mapping[UnpricedKey, Tally] = field(default_factory=dict)
    events: int = 0
    catalog_versions: frozenset[str] = frozenset()
    tenant_pricing: frozenset[str] = frozenset()

    def __add__(self, other: Usage) -> Usage:
        return Usage(_combine(self.lines, other.lines, 1), _combine(self.unpriced, other.unpriced, 1),
                     self.events + other.events, self.catalog_versions | other.catalog_versions,
                     self.tenant_pricing | other.tenant_pricing)

    def __sub__(self, other: Usage) -> Usage:
        """What `self` holds beyond `other`. Versions are those of `self`: a difference has no
        events of its own to name them by."""
        return Usage(_combine(self.lines, other.lines, -1), _combine(self.unpriced, other.unpriced, -1),
                     self.events - other.events, self.catalog_versions, self.tenant_pricing)

    def __bool__(self) -> bool:
        return bool(self.lines or self.unpriced or self.events)

    @property
    def amounts(self) -> dict[str, Decimal]:
        """The total per currency."""
        totals: dict[str, Decimal] = {}
        for key, tally in self.lines.items():
            totals[key.currency] = totals.get(key.currency, ZERO) + tally.amount
        return totals


@dataclass(frozen=True)
class UsageRow:
    """One row of the month's aggregation (queries.StatementUsage): one statement value, one
    line key, or (component '') the events that billed no line, priced or not."""

    value: str
    service: str
    model: str
    billing_unit: str
    unpriced: bool
    component: str
    unit_price: str
    currency: str
    events: int  # events counted on this row (each event once in the whole result)
    line_events: int  # events billed on this line
    quantity: Decimal  # the line's quantity (priced lines)
    amount: Decimal
    unit_quantity: Decimal  # quantity in the billing unit (unpriced rows)
    catalog_versions: tuple[str, ...] = ()
    tenant_pricing: tuple[str, ...] = ()


def usage_by_value(rows: Iterable[UsageRow]) -> dict[str, Usage]:
    """Each statement value's usage from the aggregated rows."""
    lines: dict[str, dict[LineKey, Tally]] = {}
    unpriced: dict[str, dict[UnpricedKey, Tally]] = {}
    events: dict[str, int] = {}
    catalogs: dict[str, set[str]] = {}
    tenants: dict[str, set[str]] = {}
    for row in rows:
        v = row.value
        events[v] = events.get(v, 0) + row.events
        catalogs.setdefault(v, set()).update(c for c in row.catalog_versions if c)
        tenants.setdefault(v, set()).update(t for t in row.tenant_pricing if t)
        if row.unpriced:
            key = UnpricedKey(row.service, row.model, row.billing_unit)
            bucket = unpriced.setdefault(v, {})
            bucket[key] = bucket.get(key, Tally()) + Tally(row.events, row.unit_quantity, ZERO)
        elif row.component:
            line = LineKey(row.service, row.model, row.billing_unit, row.component, row.unit_price, row.currency)
            bucket = lines.setdefault(v, {})
            bucket[line] = bucket.get(line, Tally()) + Tally(row.line_events, row.quantity, row.amount)
    return {
        v: Usage({k: t for k, t in lines.get(v, {}).items() if t}, {k: t for k, t in unpriced.get(v, {}).items() if t},
                 events[v], frozenset(catalogs[v]), frozenset(tenants[v]))
        for v in events
    }

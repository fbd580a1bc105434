"""The statement: its id, its content as data, its canonical JSON and content hash. Pure.

A statement is one tenant's usage in one month, or the part of it that one value of a chosen
attribute carries (`customer=globex`): line items, unpriced usage apart, adjustments for
earlier months' late usage, subtotals per service, totals per currency, and the catalog and
tenant-pricing versions that priced it. Money is a decimal string in JSON, exact.

The canonical JSON (sorted keys, no spaces, UTF-8) is what a closed statement stores and what
its JSON export returns, byte for byte; its content hash is the SHA-256 of that JSON without
the hash itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, PlainSerializer

from meterstream.errors import MeterstreamError
from meterstream.pricing.money import money_text
from meterstream.statements.lines import LINE_UNITS, ZERO, LineKey, Tally, UnpricedKey, Usage
from meterstream.statements.periods import Month

Money = Annotated[Decimal, PlainSerializer(money_text, return_type=str, when_used="json")]
State = Literal["open", "closed"]
ID_PREFIX = "stm_"


class InvalidStatementId(MeterstreamError, ValueError):
    """Not an id this package made."""


def statement_id(tenant_id: str, month: Month, attribute: str | None, value: str | None) -> str:
    """Deterministic from (tenant, month, attribute, value), and readable back without the
    tenant: the month, attribute and value in base64url, then a hash that includes the tenant,
    so another tenant's id for the same month never matches (and answers 404)."""
    scope = json.dumps([str(month), attribute or "", value or ""], separators=(",", ":"), ensure_ascii=False)
    encoded = base64.urlsafe_b64encode(scope.encode()).decode().rstrip("=")
    return f"{ID_PREFIX}{encoded}.{_id_hash(tenant_id, scope)}"


def _id_hash(tenant_id: str, scope: str) -> str:
    return hashlib.sha256(f"{tenant_id}\n{scope}".encode()).hexdigest()[:16]


def parse_statement_id(text: str, tenant_id: str) -> tuple[Month, str | None, str | None]:
    """(month, attribute, value) of a statement id of `tenant_id`; InvalidStatementId otherwise
    (malformed, or another tenant's)."""
    try:
        if not text.startswith(ID_PREFIX):
            raise ValueError
        encoded, digest = text[len(ID_PREFIX):].rsplit(".", 1)
        scope = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        month_text, attribute, value = json.loads(scope)
        month = Month.parse(month_text)
        if not (isinstance(attribute, str) and isinstance(value, str)) or (not attribute and value):
            raise ValueError
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidStatementId(f"{text!r} is not a statement id") from None
    if digest != _id_hash(tenant_id, scope) or statement_id(tenant_id, month, attribute, value) != text:
        raise InvalidStatementId(f"{text!r} is not a statement of this tenant")
    return month, attribute or None, value if attribute else None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class LineItem(_Frozen):
    service: str
    model: str
    billing_unit: str
    component: str  # the cost component billed: input, output, cached_input, image@1k, second_with_audio…
    unit: str  # the unit of the quantity: token, image, second, character
    quantity: Money
    unit_price: Money | None  # None for usage stored before unit prices were (amount still exact)
    amount: Money
    currency: str
    events: int


class UnpricedItem(_Frozen):
    service: str
    model: str
    billing_unit: str
    quantity: Money  # in the billing unit: tokens (input + output), images, seconds, characters
    events: int


class Amount(_Frozen):
    currency: str
    amount: Money


class Subtotal(_Frozen):
    service: str
    currency: str
    amount: Money


class Adjustment(_Frozen):
    """Usage of an earlier, closed month that reached the store after that month closed."""

    for_month: str
    events: int
    lines: tuple[LineItem, ...]
    unpriced: tuple[UnpricedItem, ...]
    totals: tuple[Amount, ...]


class Statement(_Frozen):
    statement_id: str
    tenant_id: str
    month: str
    attribute: str | None
    value: str | None
    state: State
    period_start: AwareDatetime
    period_end: AwareDatetime
    closes_at: AwareDatetime  # when the month closes by itself (end + grace)
    closed_at: AwareDatetime | None
    currency: str | None  # the statement's one currency (None only if its lines mix several)
    events: int
    lines: tuple[LineItem, ...]
    unpriced: tuple[UnpricedItem, ...]
    subtotals: tuple[Subtotal, ...]
    adjustments: tuple[Adjustment, ...]
    totals: tuple[Amount, ...]
    catalog_versions: tuple[str, ...]
    tenant_pricing_versions: tuple[str, ...]
    content_hash: str | None = None  # set when closed

    def canonical_json(self) -> bytes:
        return canonical(self.model_dump(mode="json"))

    def total(self, currency: str | None = None) -> Decimal:
        currency = currency or self.currency
        return sum((t.amount for t in self.totals if t.currency == currency), ZERO)

    # -- back to arithmetic: what a closed statement billed -------------------------------------

    def billed_usage(self) -> Usage:
        """Its own month's usage as billed (the frozen lines)."""
        return _usage(self.lines, self.unpriced, self.events)

    def billed_adjustments(self) -> dict[Month, Usage]:
        return {Month.parse(a.for_month): _usage(a.lines, a.unpriced, a.events) for a in self.adjustments}


def canonical(data: object) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _usage(lines: tuple[LineItem, ...], unpriced: tuple[UnpricedItem, ...], events: int) -> Usage:
    return Usage(
        {LineKey(i.service, i.model, i.billing_unit, i.component,
                 "" if i.unit_price is None else format(i.unit_price, "f"), i.currency):
         Tally(i.events, i.quantity, i.amount) for i in lines},
        {UnpricedKey(i.service, i.model, i.billing_unit): Tally(i.events, i.quantity, ZERO) for i in unpriced},
        events,
    )


def _line_items(usage: Usage) -> tuple[LineItem, ...]:
    return tuple(
        LineItem(service=k.service, model=k.model, billing_unit=k.billing_unit, component=k.component,
                 unit=LINE_UNITS.get(k.billing_unit, k.billing_unit), quantity=t.quantity.normalize(),
                 unit_price=Decimal(k.unit_price).normalize() if k.unit_price else None,
                 amount=t.amount.normalize(), currency=k.currency, events=t.events)
        for k, t in sorted(usage.lines.items())
    )


def _unpriced_items(usage: Usage) -> tuple[UnpricedItem, ...]:
    return tuple(UnpricedItem(service=k.service, model=k.model, billing_unit=k.billing_unit,
                              quantity=t.quantity.normalize(), events=t.events)
                 for k, t in sorted(usage.unpriced.items()))


def _amounts(totals: Mapping[str, Decimal]) -> tuple[Amount, ...]:
    return tuple(Amount(currency=c, amount=a.normalize()) for c, a in sorted(totals.items()))


def build_statement(
    *, tenant_id: str, month: Month, attribute: str | None, value: str | None, usage: Usage,
    adjustments: Mapping[Month, Usage], closes_at: datetime, default_currency: str,
    closed_at: datetime | None = None,
) -> Statement:
    """The statement of `usage` (its own month) and `adjustments` (earlier months' late usage).

    Closed when `closed_at` is given: then its content hash is set.
    """
    subtotals: dict[tuple[str, str], Decimal] = {}
    for key, tally in usage.lines.items():
        subtotals[(key.service, key.currency)] = subtotals.get((key.service, key.currency), ZERO) + tally.amount
    totals = dict(usage.amounts)
    adjustment_items = []
    catalogs, tenants = set(usage.catalog_versions), set(usage.tenant_pricing)
    for for_month, extra in sorted(adjustments.items()):
        if not extra:
            continue
        for currency, amount in extra.amounts.items():
            totals[currency] = totals.get(currency, ZERO) + amount
        catalogs |= extra.catalog_versions
        tenants |= extra.tenant_pricing
        adjustment_items.append(Adjustment(for_month=str(for_month), events=extra.events, lines=_line_items(extra),
                                           unpriced=_unpriced_items(extra), totals=_amounts(extra.amounts)))
    currencies = sorted(totals)
    statement = Statement(
        statement_id=statement_id(tenant_id, month, attribute, value), tenant_id=tenant_id, month=str(month),
        attribute=attribute, value=value if attribute else None, state="closed" if closed_at else "open",
        period_start=month.start, period_end=month.end, closes_at=closes_at, closed_at=closed_at,
        currency=currencies[0] if len(currencies) == 1 else (default_currency if not currencies else None),
        events=usage.events, lines=_line_items(usage), unpriced=_unpriced_items(usage),
        subtotals=tuple(Subtotal(service=s, currency=c, amount=a.normalize()) for (s, c), a in sorted(subtotals.items())),
        adjustments=tuple(adjustment_items), totals=_amounts(totals),
        catalog_versions=tuple(sorted(catalogs)), tenant_pricing_versions=tuple(sorted(tenants)),
    )
    if closed_at is None:
        return statement
    digest = hashlib.sha256(statement.canonical_json()).hexdigest()
    return statement.model_copy(update={"content_hash": digest})

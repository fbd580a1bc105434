"""Exact money arithmetic: the decimal contexts every cost computation goes through.

The thread's default decimal context has 28 digits and silently rounds beyond that; the
pricing code never uses it. `EXACT` traps any inexact result, so a product or sum that
would round raises instead. `to_storage` is the one place where rounding happens: a line
cost with more than 12 decimal places is rounded half-to-even to 12, the scale of
ClickHouse's Decimal128(12) cost columns.
"""

from __future__ import annotations

from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)

COST_PLACES = 12
COST_QUANTUM = Decimal(1).scaleb(-COST_PLACES)
EXACT = Context(prec=80, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])
_ROUNDING = Context(prec=80, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])

ZERO = Decimal(0)


def places(value: Decimal) -> int:
    """How many decimal places `value` is written with (0 for integers and 1E+3)."""
    return max(0, -value.as_tuple().exponent)  # type: ignore[operator]


def to_storage(cost: Decimal) -> Decimal:
    """`cost` rounded half-to-even to 12 decimal places if it has more; otherwise unchanged."""
    if places(cost) > COST_PLACES:
        return cost.quantize(COST_QUANTUM, context=_ROUNDING)
    return cost


def line_cost(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """quantity × unit price, exact, then rounded half-to-even to 12 places if it has more."""
    return to_storage(EXACT.multiply(quantity, unit_price))


def money_text(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros: Decimal('3E-7') -> '0.0000003'."""
    text = format(value.normalize(_ROUNDING), "f")  # not the default context: it rounds past 28 digits
    return "0" if text in ("-0", "") else text

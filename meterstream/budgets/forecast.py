"""The forecast rule: when a period's budget runs out if spending goes on at its rate so far.

Linear in time: spent / elapsed is the period's rate, and the limit is reached at
start + elapsed × limit / spent. It is said only once enough of the period has passed
for a rate to mean something (a tenth of it: 2.4 h of a day, about 3 days of a month),
and only while the limit is not yet reached (the 100 % threshold alert says that).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

MIN_ELAPSED_SHARE = Decimal("0.1")


def projected_spend(start: datetime, end: datetime, at: datetime, spent: Decimal) -> Decimal | None:
    """What the whole period costs at the rate so far; None before a tenth of it has passed."""
    length = Decimal((end - start).total_seconds())
    elapsed = Decimal(max((at - start).total_seconds(), 0))
    if elapsed < length * MIN_ELAPSED_SHARE:
        return None
    return spent * length / elapsed


def runs_out_at(start: datetime, end: datetime, at: datetime, spent: Decimal, limit: Decimal) -> datetime | None:
    """When the limit is reached within this period at the rate so far, or None if not (or too early to say)."""
    projected = projected_spend(start, end, at, spent)
    if projected is None or spent <= 0 or spent >= limit or projected < limit:
        return None
    elapsed = Decimal((at - start).total_seconds())
    return start + timedelta(seconds=float(elapsed * limit / spent))

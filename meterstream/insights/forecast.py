"""The month's total, forecast with a range from the days so far.

Rule: spent so far (every day of the month up to now, today included) plus, for the rest of
the month (`remaining` days, fractional: the rest of today counts), a daily rate taken from
the complete days so far: the median day for the central figure, the 10th and 90th
percentile days (nearest rank) for the range. Days with no usage count as 0. With no
complete day yet (the 1st), today's rate so far stands in for a day, and the range is
from nothing more (low = spent) to twice the central rate (high), since one partial day
says little. Exact Decimal throughout; the result is rounded to cents only for display
elsewhere.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

ZERO = Decimal(0)
DAY_SECONDS = Decimal(86_400)


@dataclass(frozen=True)
class MonthForecast:
    month: str  # YYYY-MM
    spent: Decimal
    forecast: Decimal
    low: Decimal
    high: Decimal
    days_elapsed: int  # complete days the rate comes from
    remaining_days: Decimal
    daily_median: Decimal


def month_bounds(at: datetime) -> tuple[datetime, datetime]:
    start = datetime(at.year, at.month, 1, tzinfo=UTC)
    days = monthrange(at.year, at.month)[1]
    return start, start + timedelta(days=days)


def _rank(sorted_values: list[Decimal], share: Decimal) -> Decimal:
    """Nearest-rank percentile of a non-empty ascending list."""
    index = max(int((share * len(sorted_values)).to_integral_value(rounding="ROUND_CEILING")) - 1, 0)
    return sorted_values[min(index, len(sorted_values) - 1)]


def forecast_month(daily: dict[date, Decimal], now: datetime) -> MonthForecast:
    """`daily`: cost per UTC day of the month containing `now` (missing days cost 0)."""
    start, end = month_bounds(now)
    today = now.date()
    spent = sum((cost for day, cost in daily.items() if start.date() <= day <= today), ZERO)
    remaining = Decimal((end - now).total_seconds()) / DAY_SECONDS
    complete = [daily.get(start.date() + timedelta(days=n), ZERO) for n in range((today - start.date()).days)]
    if complete:
        ordered = sorted(complete)
        median, low, high = (_rank(ordered, Decimal("0.5")), _rank(ordered, Decimal("0.1")),
                             _rank(ordered, Decimal("0.9")))
    else:
        elapsed = Decimal((now - start).total_seconds()) / DAY_SECONDS
        median = ZERO if elapsed == 0 else daily.get(today, ZERO) / elapsed
        low, high = ZERO, 2 * median
    return MonthForecast(month=f"{start:%Y-%m}", spent=spent, forecast=spent + remaining * median,
                         low=spent + remaining * low, high=spent + remaining * high, days_elapsed=len(complete),
                         remaining_days=remaining, daily_median=median)

"""Budget periods in UTC: the day, ISO week, month or lifetime that contains an instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meterstream.schemas.budgets import BudgetPeriod

LIFETIME_START = datetime(1970, 1, 1, tzinfo=UTC)


def period_bounds(period: BudgetPeriod | str, at: datetime) -> tuple[datetime, datetime | None]:
    """[start, end) of the period containing `at`; a lifetime budget has no end."""
    at = at.astimezone(UTC)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    match BudgetPeriod(period):
        case BudgetPeriod.DAY:
            return day, day + timedelta(days=1)
        case BudgetPeriod.WEEK:
            start = day - timedelta(days=day.weekday())
            return start, start + timedelta(days=7)
        case BudgetPeriod.MONTH:
            start = day.replace(day=1)
            end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
            return start, end
        case BudgetPeriod.LIFETIME:
            return LIFETIME_START, None
    raise ValueError(f"unknown period {period!r}")

"""The month forecast: spent so far plus the rest of the month at the median day, with a range."""

from datetime import UTC, date, datetime
from decimal import Decimal

from meterstream.insights.forecast import forecast_month

D = Decimal


def test_the_forecast_is_spent_plus_the_remaining_days_at_the_median_day_with_p10_and_p90_as_range():
    daily = {date(2026, 6, day): D(day) for day in range(1, 11)} | {date(2026, 6, 11): D(3)}
    result = forecast_month(daily, datetime(2026, 6, 11, 12, tzinfo=UTC))
    # spent 1+…+10 + 3 = 58; 19.5 days left; median day 5, p10 1, p90 9 (nearest rank of 10 days)
    assert (result.spent, result.remaining_days, result.daily_median) == (D(58), D("19.5"), D(5))
    assert (result.forecast, result.low, result.high) == (D("155.5"), D("77.5"), D("233.5"))
    assert (result.month, result.days_elapsed) == ("2026-06", 10)


def test_days_without_usage_count_as_zero():
    result = forecast_month({date(2026, 6, 1): D(10)}, datetime(2026, 6, 3, tzinfo=UTC))
    assert (result.daily_median, result.low, result.high) == (D(0), D(10), D(10) + 28 * D(10))


def test_on_the_first_day_the_rate_so_far_stands_in_with_a_wide_range():
    result = forecast_month({date(2026, 6, 1): D(6)}, datetime(2026, 6, 1, 6, tzinfo=UTC))
    # 6 in a quarter day: 24 a day; 29.75 days left
    assert (result.forecast, result.low, result.high) == (D(6) + D("29.75") * 24, D(6), D(6) + D("29.75") * 48)

"""Months and when they close. A statement covers one calendar month in UTC; its month is the
month of each event's `occurred_at`.

A month closes automatically once its grace period has passed (default 3 days after its end,
`METERSTREAM_STATEMENTS_GRACE_DAYS`), or earlier when closed explicitly, but never before
it has ended: a statement of the running month would freeze usage that is still arriving.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from meterstream.errors import MeterstreamError

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class InvalidMonth(MeterstreamError, ValueError):
    """Not a month written YYYY-MM."""


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        found = _MONTH.match(text)
        if found is None:
            raise InvalidMonth(f"{text!r} is not a month written YYYY-MM")
        return cls(int(found[1]), int(found[2]))

    @classmethod
    def of(cls, instant: datetime) -> Month:
        instant = instant.astimezone(UTC)
        return cls(instant.year, instant.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Exclusive: the first instant of the next month."""
        return self.next().start

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def yyyymm(self) -> int:
        """The month as ClickHouse's toYYYYMM() writes it (usage_events' partition key)."""
        return self.year * 100 + self.month


def has_ended(month: Month, now: datetime) -> bool:
    return now >= month.end


def closes_at(month: Month, grace: timedelta) -> datetime:
    """When the month closes by itself."""
    return month.end + grace


def close_due(month: Month, now: datetime, grace: timedelta) -> bool:
    return now >= closes_at(month, grace)

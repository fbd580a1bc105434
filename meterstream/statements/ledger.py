"""Where late usage goes, and which closed months may have any. Pure.

A close unit is (tenant, attribute, month): closing any statement of it closes all of its
statements (every value of the attribute) at one instant, so that a month's statements by
customer always add up to what the same close would give the whole tenant. The tenant-wide
statements are the unit with attribute ''.

- **Late usage** of a closed month K (what K holds now minus what was billed for it, see
  lines.py) goes on the first statement after K that is still open: `target_month`. Months
  between that are closed are skipped; when the target closes, the adjustment freezes in it.
- **Which months to look at.** Re-aggregating every closed month on every view would cost a
  scan of the tenant's history. A closed month can only have late usage if a row of it was
  stored after the last close that accounted for it. That close is the last of the run of
  closed months starting at K (`accounted_at`): each close of the run computed K's late
  usage at its instant. Rows are stamped `stored_at` by ClickHouse when inserted but become
  visible a little later, when the insert commits; `LATE_MARGIN` covers that gap, so any row
  stored at or before `accounted_at - LATE_MARGIN` was visible to that close. A month flagged
  needlessly costs one aggregation; a month missed would lose money, so the margin is wide.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta

from meterstream.statements.periods import Month

LATE_MARGIN = timedelta(minutes=10)


def target_month(month: Month, closed: Collection[Month]) -> Month:
    """The first month after `month` whose statement is open."""
    candidate = month.next()
    while candidate in closed:
        candidate = candidate.next()
    return candidate


def accounted_at(month: Month, closes: Mapping[Month, datetime]) -> datetime:
    """The instant up to which `month`'s usage has been billed: the latest close in the run of
    closed months that starts at it."""
    latest = closes[month]
    following = month.next()
    while following in closes:
        latest = max(latest, closes[following])
        following = following.next()
    return latest


def months_to_recheck(closes: Mapping[Month, datetime], last_stored: Mapping[Month, datetime],
                      margin: timedelta = LATE_MARGIN) -> list[Month]:
    """The closed months that may hold usage not yet billed, oldest first.

    `last_stored` is, per month, the latest `stored_at` of its rows (of the tenant).
    """
    return sorted(month for month in closes
                  if month in last_stored and last_stored[month] > accounted_at(month, closes) - margin)

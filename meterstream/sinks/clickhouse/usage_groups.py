"""SQL for stored usage summed per price-relevant group (meterstream/pricing/groups.py says why
that prices exactly): the group keys every price depends on and the quantity sums.

Shared by re-pricing (reprice.py) and the savings recommendations (insights/queries.py). The
queries read FINAL, so a row stored twice before a merge is summed once, as every report counts it;
re-pricing reads a month that is one merged part from its projection instead (reprice.py says why
that is exact too).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from meterstream.pricing.groups import QUANTITIES
from meterstream.sinks.clickhouse.usage_queries import ch_time

# The engine's normalize_resolution(): 2160p and uhd are 4k, fhd is 1080p, hd is 720p.
RESOLUTION = ("transform(trimBoth(lower(resolution)), ['2160p', 'uhd', 'fhd', 'hd'], ['4k', '4k', '1080p', '720p'], "
              "trimBoth(lower(resolution)))")
# Uncached text input below 0 (cached + uncached audio exceed the prompt): the engine prices no
# such event. input − cached − (audio − cached audio) < 0, without signed casts.
INCONSISTENT_TOKENS = "input_tokens + cached_audio_input_tokens < cached_input_tokens + audio_input_tokens"
# Every summed quantity under its column's name: run with COLUMNS_OVER_ALIASES, so that a column
# inside another expression (PROMPT_CLASS) stays the column, not its sum.
QUANTITY_SUMS = ", ".join(f"sum({name}) AS {name}" for name in QUANTITIES)
COLUMNS_OVER_ALIASES = "SETTINGS prefer_column_name_to_alias = 1"
# The UTC hour of a row, as re-pricing's projection groups it (migrations.REPRICE_PROJECTION_KEYS).
HOUR = "toStartOfHour(occurred_at)"


def prompt_class(thresholds: Sequence[int], *, literal: bool = False) -> tuple[str, dict[str, Any]]:
    """How many of the long-context `thresholds` the prompt (input + tool-use prompt tokens)
    exceeds: one comparison per threshold, summed (cheaper per row than a lambda over an array).
    `literal` writes the thresholds into the SQL, spelled as re-pricing's projection spells its
    keys (migrations.REPRICE_PROJECTION_KEYS): the optimizer matches a projection by its
    expressions, and a query parameter is not the projection's constant."""
    if literal:
        terms = [f"(input_tokens + tool_use_prompt_tokens > {int(threshold)})" for threshold in thresholds]
        return (f"toUInt32({' + '.join(terms)})" if terms else "toUInt32(0)"), {}
    terms = [f"(input_tokens + tool_use_prompt_tokens > {{threshold_{i}:UInt64}})" for i in range(len(thresholds))]
    return (f"toUInt32({' + '.join(terms)})" if terms else "toUInt32(0)",
            {f"threshold_{i}": value for i, value in enumerate(thresholds)})


def price_period(boundaries: Sequence[datetime], start: datetime | None = None,
                 end: datetime | None = None, instant: str = "occurred_at") -> tuple[str, dict[str, Any]]:
    """How many of `boundaries` (every instant a price version starts or ends, ascending) are at
    or before a row's `instant` (occurred_at; HOUR for the projection, equal when every boundary
    is on the hour), for rows in [start, end): those at or before `start` are a constant, those
    at or after `end` count for no row, so only the boundaries inside the range cost a
    comparison per row (a month usually has none)."""
    offset = sum(1 for b in boundaries if start is not None and b <= start)
    inside = [b for b in boundaries if (start is None or b > start) and (end is None or b < end)]
    terms = [f"({instant} >= {{boundary_{i}:DateTime64(6, 'UTC')}})" for i in range(len(inside))]
    return (f"toUInt32({' + '.join([str(offset), *terms])})",
            {f"boundary_{i}": ch_time(b) for i, b in enumerate(inside)})

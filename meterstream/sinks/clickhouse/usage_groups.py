"""SQL for stored usage summed per price-relevant group (meterstream/pricing/groups.py says why
that prices exactly): the group keys every price depends on and the quantity sums.

Shared by re-pricing (reprice.py) and the savings recommendations (insights/queries.py). The
queries read FINAL, so a row stored twice before a merge is summed once, as every report counts it.
"""

from __future__ import annotations

from meterstream.pricing.groups import QUANTITIES

# The engine's normalize_resolution(): 2160p and uhd are 4k, fhd is 1080p, hd is 720p.
RESOLUTION = ("transform(trimBoth(lower(resolution)), ['2160p', 'uhd', 'fhd', 'hd'], ['4k', '4k', '1080p', '720p'], "
              "trimBoth(lower(resolution)))")
# How many long-context thresholds the prompt exceeds (above `t` tokens: input + tool-use prompt).
PROMPT_CLASS = "arrayCount(t -> input_tokens + tool_use_prompt_tokens > t, {thresholds:Array(UInt64)})"
# Uncached text input below 0 (cached + uncached audio exceed the prompt): the engine prices no such event.
INCONSISTENT_TOKENS = ("toInt64(input_tokens) - toInt64(cached_input_tokens) "
                       "- (toInt64(audio_input_tokens) - toInt64(cached_audio_input_tokens)) < 0")
# Every summed quantity under its column's name: run with COLUMNS_OVER_ALIASES, so that a column
# inside another expression (PROMPT_CLASS) stays the column, not its sum.
QUANTITY_SUMS = ", ".join(f"sum({name}) AS {name}" for name in QUANTITIES)
COLUMNS_OVER_ALIASES = "SETTINGS prefer_column_name_to_alias = 1"


def price_period(at: str) -> str:
    """How many price boundaries ({starts:...}: every version start and end) are at or before `at`."""
    return f"arrayCount(s -> s <= {at}, {{starts:Array(DateTime64(6, 'UTC'))}})"

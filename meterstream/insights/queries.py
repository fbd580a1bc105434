"""The ClickHouse side of insights: each query is a frozen dataclass whose `to_sql()` returns
(sql, parameters), placeholders only, run by usage_queries.run_query. Every query reads FINAL
(a row stored twice before a merge counts once) and is scoped to one tenant and a time range
[start, end) on occurred_at, optionally to a user, a session or an attribute's value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from meterstream.insights.recommendations import (
    LONG_PROMPT_TOKENS,
    NON_INTERACTIVE_VALUES,
    NON_INTERACTIVE_WORKLOADS,
    SHORT_OUTPUT_TOKENS,
)
from meterstream.sinks.clickhouse.usage_groups import (
    COLUMNS_OVER_ALIASES,
    QUANTITY_SUMS,
    RESOLUTION,
    price_period,
    prompt_class,
)
from meterstream.sinks.clickhouse.usage_queries import ch_time

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
UNPRICED = "pricing_status = 'unpriced'"


def _table(database: str) -> str:
    if not _IDENTIFIER.match(database):
        raise ValueError(f"not a database name: {database!r}")
    return f"{database}.usage_events"


@dataclass(frozen=True)
class Scope:
    """Which stored usage: a tenant's, in [start, end), optionally one user, session or attribute value."""

    tenant_id: str
    start: datetime
    end: datetime
    user_id: str | None = None
    session_id: str | None = None
    attribute: str | None = None  # key; `value` is its value
    value: str | None = None

    def where(self) -> tuple[str, dict[str, Any]]:
        conditions = ["tenant_id = {tenant_id:String}", "occurred_at >= {start:DateTime64(6, 'UTC')}",
                      "occurred_at < {end:DateTime64(6, 'UTC')}"]
        params: dict[str, Any] = {"tenant_id": self.tenant_id, "start": ch_time(self.start), "end": ch_time(self.end)}
        for name in ("user_id", "session_id"):
            if getattr(self, name) is not None:
                conditions.append(f"{name} = {{{name}:String}}")
                params[name] = getattr(self, name)
        if (self.attribute is None) != (self.value is None):
            raise ValueError("an attribute needs its value, and a value its attribute")
        if self.attribute is not None:
            conditions.append("attributes[{attribute:String}] = {value:String}")
            params.update(attribute=self.attribute, value=self.value)
        return " WHERE " + " AND ".join(sorted(conditions)), params


@dataclass(frozen=True)
class UsageGroups:
    """Quantities summed by everything the price depends on, and by the recommendation scopes
    (and by whether a call had audio input: some cheaper models take none).

    A long prompt "repeats" when its session sent the model at least two distinct long-prompt
    events (counted by event_id, so that subquery needs no FINAL: a row stored twice is one)."""

    database: str
    scope: Scope
    thresholds: tuple[int, ...]  # the catalog's long-context thresholds, ascending
    version_starts: tuple[datetime, ...]  # every version's start and end: groups never span a price change
    non_interactive_hours: tuple[int, ...] = ()  # UTC hours whose usage counts as non-interactive (timed)

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        where, params = self.scope.where()
        prompts, prompt_params = prompt_class(self.thresholds)
        period, period_params = price_period(self.version_starts, self.scope.start, self.scope.end)
        params.update(prompt_params, **period_params, short=SHORT_OUTPUT_TOKENS, long_prompt=LONG_PROMPT_TOKENS,
                      quiet=list(NON_INTERACTIVE_VALUES), workloads=list(NON_INTERACTIVE_WORKLOADS),
                      quiet_hours=list(self.non_interactive_hours))
        sql = f"""
SELECT model, billing_mode, billing_unit AS unit, voice_tier, {RESOLUTION} AS res,
       video_with_audio AS with_audio, audio_input_tokens > 0 AS audio_in, {prompts} AS prompt_class,
       {period} AS price_period,
       billing_unit = 'tokens' AND output_tokens + thinking_tokens <= {{short:UInt64}} AS short_output,
       lower(attributes['interactive']) IN {{quiet:Array(String)}}
           OR lower(attributes['workload']) IN {{workloads:Array(String)}}
           OR has({{quiet_hours:Array(UInt8)}}, toHour(occurred_at)) AS non_interactive,
       billing_unit = 'tokens' AND input_tokens >= {{long_prompt:UInt64}}
           AND cached_input_tokens * 4 < input_tokens
           AND (session_id, model) IN (
               SELECT session_id, model FROM {_table(self.database)}{where}
                   AND billing_unit = 'tokens' AND input_tokens >= {{long_prompt:UInt64}}
               GROUP BY session_id, model HAVING uniqExact(event_id) >= 2) AS long_uncached_prompt,
       currency, pricing_status != 'unpriced' AS priced,
       min(occurred_at) AS at, count() AS operations, sum(cost) AS cost, {QUANTITY_SUMS}
FROM {_table(self.database)} FINAL{where}
GROUP BY model, billing_mode, unit, voice_tier, res, with_audio, audio_in, prompt_class, price_period,
         short_output, non_interactive, long_uncached_prompt, currency, priced
ORDER BY model, billing_mode, unit, voice_tier, res, with_audio, audio_in, prompt_class, price_period,
         short_output, non_interactive, long_uncached_prompt, currency, priced
{COLUMNS_OVER_ALIASES}"""
        return sql.strip(), params


@dataclass(frozen=True)
class TopOperations:
    """The costliest operations, most expensive first."""

    database: str
    scope: Scope
    limit: int = 10

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        where, params = self.scope.where()
        params["limit"] = self.limit
        return (
            "SELECT event_id, occurred_at, session_id, user_id, service, operation, model, cost, currency, "
            f"pricing_status FROM {_table(self.database)} FINAL{where} "
            "ORDER BY cost DESC, occurred_at, event_id LIMIT {limit:UInt32}",
            params,
        )


Unit = Literal["session", "user", "operation"]
_UNIT_COLUMNS = {"session": "session_id", "user": "user_id", "operation": "service, operation"}


@dataclass(frozen=True)
class TopSpenders:
    """Sessions, users or operation names by cost, most expensive first."""

    database: str
    scope: Scope
    by: Unit = "session"
    limit: int = 10

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        where, params = self.scope.where()
        params["limit"] = self.limit
        keys = _UNIT_COLUMNS[self.by]
        return (
            f"SELECT {keys}, currency, count() AS operations, sum(cost) AS cost, countIf({UNPRICED}) AS unpriced, "
            f"min(occurred_at) AS first_at, max(occurred_at) AS last_at FROM {_table(self.database)} FINAL{where} "
            f"GROUP BY {keys}, currency ORDER BY cost DESC, {keys} LIMIT {{limit:UInt32}}",
            params,
        )


@dataclass(frozen=True)
class CostDistribution:
    """Cost per session or per user: how many, p50, p90, p99, max and total (exact quantiles).

    Over the sessions (users) with priced usage; those with only unpriced usage are counted
    apart (`unpriced_only`), never as a cost of 0."""

    database: str
    scope: Scope
    by: Literal["session", "user"] = "session"

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        where, params = self.scope.where()
        key = _UNIT_COLUMNS[self.by]
        return (
            "SELECT currency, countIf(p > 0) AS units, quantilesExactIf(0.5, 0.9, 0.99)(c, p > 0) AS q, "
            "maxIf(c, p > 0) AS max_cost, sum(c) AS total_cost, countIf(u > 0) AS with_unpriced, "
            "countIf(p = 0) AS unpriced_only FROM ("
            f"SELECT {key}, currency, sum(cost) AS c, countIf({UNPRICED}) AS u, countIf(NOT {UNPRICED}) AS p "
            f"FROM {_table(self.database)} FINAL{where} GROUP BY {key}, currency) GROUP BY currency ORDER BY currency",
            params,
        )


@dataclass(frozen=True)
class DailySpend:
    """Cost per UTC day (for the month forecast)."""

    database: str
    scope: Scope

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        where, params = self.scope.where()
        return (
            "SELECT toDate(occurred_at) AS day, currency, sum(cost) AS cost, count() AS operations, "
            f"countIf({UNPRICED}) AS unpriced FROM {_table(self.database)} FINAL{where} "
            "GROUP BY day, currency ORDER BY day, currency",
            params,
        )

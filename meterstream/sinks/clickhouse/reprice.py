"""Re-pricing stored usage in ClickHouse: what it costs under another catalog, or with a model swapped.

Usage is stored as quantities (tokens by kind, images, seconds, characters), so history
can be priced again. The pricing decisions come from a RepricePlan (meterstream.pricing.plan,
made by the same Pricer as live pricing); the query joins each stored row to its price
version (ASOF JOIN on the instant it is priced at) and computes, per row and line, quantity
× unit price rounded half-to-even to 12 places, like the engine. Everything heavy runs in
ClickHouse, so the work scales with the table, not with Python loops.

Queries are data: each is a frozen dataclass whose `to_sql()` returns (sql, parameters),
with placeholders only. `run_reprice` executes them.

Every token kind the stream meters is billed at its own rate, as the engine splits them:
uncached text and tool-use prompt at `input`, uncached audio at `audio_input`, cached text
at `cached_input`, cached audio at `cached_audio_input`, text output and thinking at
`output`, image output at `image_output` (the cached-audio and image-output columns came
with migration 8; rows stored before it hold 0 there).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.client import Client

from meterstream.pricing import Pricer
from meterstream.pricing.entry import BASE_VIDEO_RESOLUTIONS
from meterstream.pricing.plan import SEPARATOR, RepricePlan, build_plan

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RATES_TYPE = ("Array(Tuple(String, String, String, DateTime64(6, 'UTC'), DateTime64(6, 'UTC'), UInt64, "
               "Array(String), Array(Decimal(38, 20)), Array(String), Array(Decimal(38, 20))))")


def _table(database: str) -> str:
    if not _IDENTIFIER.match(database):
        raise ValueError(f"not a database name: {database!r}")
    return f"{database}.usage_events"


@dataclass(frozen=True)
class UsageFilter:
    """Which stored usage: a tenant, a session, a time range [start, end) on occurred_at."""

    tenant_id: str | None = None
    session_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def where(self) -> tuple[str, dict[str, Any]]:
        conditions, params = [], {}
        for name in ("session_id", "tenant_id"):
            value = getattr(self, name)
            if value is not None:
                conditions.append(f"{name} = {{{name}:String}}")
                params[name] = value
        if self.start is not None:
            conditions.append("occurred_at >= {start:DateTime64(6, 'UTC')}")
            params["start"] = self.start
        if self.end is not None:
            conditions.append("occurred_at < {end:DateTime64(6, 'UTC')}")
            params["end"] = self.end
        return (f" WHERE {' AND '.join(sorted(conditions))}" if conditions else ""), params


@dataclass(frozen=True)
class DistinctUsageQuery:
    """The distinct (tenant, model, unit, voice tier) of the stored usage: what a plan must cover."""

    database: str
    filter: UsageFilter = UsageFilter()

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        where, params = self.filter.where()
        return (
            "SELECT DISTINCT tenant_id, model, billing_unit, voice_tier "
            f"FROM {_table(self.database)} FINAL{where} ORDER BY tenant_id, model, billing_unit, voice_tier",
            params,
        )


def _rb(quantity: str, price: str) -> str:
    """quantity × price rounded half-to-even to 12 places, as Decimal(76, 20)."""
    return f"CAST(roundBankers({quantity} * {price}, 12), 'Decimal(76, 20)')"


# Component look-up chains, the same as the engine's variant_key() and video_key(): `base@resolution`
# before `base`, and for video with audio `second_with_audio` before `second`; a plain video
# price covers only BASE_VIDEO_RESOLUTIONS (any other resolution needs its variant).
_BASE_RESOLUTIONS = "(" + ", ".join(f"'{r}'" for r in sorted(BASE_VIDEO_RESOLUTIONS)) + ")"
_IMAGE_KEY = ("multiIf(mapContains(p, concat('image@', res)), concat('image@', res), "
              "mapContains(p, 'image'), 'image', '')")
_VIDEO_KEY = ("multiIf(video_with_audio AND mapContains(p, concat('second_with_audio@', res)), "
              "concat('second_with_audio@', res), "
              f"video_with_audio AND mapContains(p, 'second_with_audio') AND res IN {_BASE_RESOLUTIONS}, "
              "'second_with_audio', "
              "mapContains(p, concat('second@', res)), concat('second@', res), "
              f"mapContains(p, 'second') AND res IN {_BASE_RESOLUTIONS}, 'second', '')")
_TOKENS_COST = " + ".join((
    _rb("toDecimal256(text_in + tool_use_prompt_tokens, 0)", "p['input']"),
    _rb("toDecimal256(audio_input_tokens - cached_audio_input_tokens, 0)", "p['audio_input']"),
    _rb("toDecimal256(cached_input_tokens - cached_audio_input_tokens, 0)", "p['cached_input']"),
    _rb("toDecimal256(cached_audio_input_tokens, 0)", "p['cached_audio_input']"),
    _rb("toDecimal256(output_tokens - image_output_tokens + thinking_tokens, 0)", "p['output']"),
    _rb("toDecimal256(image_output_tokens, 0)", "p['image_output']"),
))


@dataclass(frozen=True)
class RepriceQuery:
    """Current and re-priced cost of stored usage, by service, model and the model it is priced as."""

    database: str
    plan: RepricePlan
    filter: UsageFilter = UsageFilter()
    as_of: datetime | None = None  # price every row at this instant instead of its occurred_at

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        where, params = self.filter.where()
        targets = sorted(self.plan.targets.items())
        rate_keys = sorted({key for _, key in targets if key})
        params.update({
            "sep": SEPARATOR,
            "target_keys": [key for key, _ in targets],
            "target_rates": [rate for _, rate in targets],
            "rate_keys": rate_keys,
            "rate_models": [RepricePlan.target_model(key) for key in rate_keys],
            "rates": [
                (row.rate_key, row.billing_mode, row.unit, row.valid_from, row.valid_to, row.threshold,
                 [name for name, _ in row.prices], [price for _, price in row.prices],
                 [name for name, _ in row.long_prices], [price for _, price in row.long_prices])
                for row in self.plan.rates
            ],
        })
        if self.as_of is not None:
            params["as_of"] = self.as_of
        price_at = "{as_of:DateTime64(6, 'UTC')}" if self.as_of is not None else "occurred_at"
        sql = f"""
SELECT service, model, priced_as, count() AS operations, sum(cost) AS current_cost,
       sumIf(cost, priced) AS current_cost_of_priced, CAST(sumIf(new_cost, priced), 'Decimal128(12)') AS repriced_cost,
       countIf(NOT priced) AS unpriced
FROM (
    SELECT service, model, cost, transform(rate_key, {{rate_keys:Array(String)}}, {{rate_models:Array(String)}}, '')
               AS priced_as,
           if(r_threshold > 0 AND input_tokens + tool_use_prompt_tokens > r_threshold, r_long, r_base) AS p,
           toInt64(input_tokens) - toInt64(cached_input_tokens)
               - (toInt64(audio_input_tokens) - toInt64(cached_audio_input_tokens)) AS text_in,
           multiIf(billing_unit = 'images', {_IMAGE_KEY}, billing_unit = 'video', {_VIDEO_KEY},
                   billing_unit = 'characters' AND mapContains(p, 'character'), 'character', '') AS media_key,
           rate_key != '' AND r_rate_key = rate_key AND price_at < r_valid_to AND r_unit = billing_unit
               AND if(billing_unit = 'tokens', text_in >= 0, media_key != '') AS priced,
           if(NOT priced, CAST(0, 'Decimal(76, 20)'), multiIf(
               billing_unit = 'tokens', {_TOKENS_COST},
               billing_unit = 'images', {_rb("toDecimal256(images, 0)", "p[media_key]")},
               billing_unit = 'video', {_rb("toDecimal256(video_seconds, 6)", "p[media_key]")},
               {_rb("toDecimal256(characters, 0)", "p[media_key]")})) AS new_cost
    FROM (
        SELECT *, {price_at} AS price_at,
               transform(concat(tenant_id, {{sep:String}}, model, {{sep:String}}, voice_tier),
                         {{target_keys:Array(String)}}, {{target_rates:Array(String)}}, '') AS rate_key,
               transform(trimBoth(lower(resolution)), ['2160p', 'uhd', 'fhd', 'hd'], ['4k', '4k', '1080p', '720p'],
                         trimBoth(lower(resolution))) AS res
        FROM {_table(self.database)} FINAL{where}
    ) AS u
    ASOF LEFT JOIN (
        SELECT r.1 AS r_rate_key, r.2 AS r_mode, r.3 AS r_unit, r.4 AS r_valid_from, r.5 AS r_valid_to,
               r.6 AS r_threshold, mapFromArrays(r.7, r.8) AS r_base, mapFromArrays(r.9, r.10) AS r_long
        FROM (SELECT arrayJoin({{rates:{_RATES_TYPE}}}) AS r)
    ) AS rates
    ON u.rate_key = rates.r_rate_key AND u.billing_mode = rates.r_mode AND u.price_at >= rates.r_valid_from
)
GROUP BY service, model, priced_as
ORDER BY service, model, priced_as"""
        return sql.strip(), params


@dataclass(frozen=True)
class RepriceLine:
    service: str
    model: str
    priced_as: str  # the catalog model the usage is re-priced as ("" = unpriced under the target)
    operations: int
    current_cost: Decimal  # as stored, all rows
    repriced_cost: Decimal  # under the target, rows it can price
    difference: Decimal  # repriced − current, over the rows the target can price
    unpriced: int  # rows the target cannot price


@dataclass(frozen=True)
class RepriceResult:
    catalog_version: str
    lines: list[RepriceLine] = field(default_factory=list)

    @property
    def current_cost(self) -> Decimal:
        return sum((line.current_cost for line in self.lines), Decimal(0))

    @property
    def repriced_cost(self) -> Decimal:
        return sum((line.repriced_cost for line in self.lines), Decimal(0))

    @property
    def difference(self) -> Decimal:
        return sum((line.difference for line in self.lines), Decimal(0))

    @property
    def unpriced(self) -> int:
        return sum(line.unpriced for line in self.lines)


def run_reprice(
    client: Client,
    database: str,
    pricer: Pricer,
    *,
    filter: UsageFilter = UsageFilter(),
    swap: Mapping[str, str] | None = None,
    as_of: datetime | None = None,
) -> RepriceResult:
    """Re-price the stored usage `filter` selects with `pricer` (its catalog and tenant pricing)."""
    sql, params = DistinctUsageQuery(database, filter).to_sql()
    usage: Sequence[tuple[str, str, str, str]] = client.query(sql, parameters=params).result_rows
    plan = build_plan(pricer, usage, swap)
    sql, params = RepriceQuery(database, plan, filter, as_of).to_sql()
    lines = [
        RepriceLine(service, model, priced_as, operations, current, repriced, repriced - current_priced, unpriced)
        for service, model, priced_as, operations, current, current_priced, repriced, unpriced
        in client.query(sql, parameters=params).result_rows
    ]
    return RepriceResult(plan.catalog_version, lines)

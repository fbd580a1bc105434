"""Re-pricing stored usage in ClickHouse: what it costs under another catalog, or with a model swapped.

Usage is stored as quantities (tokens by kind, images, seconds, characters), so history
can be priced again. The pricing decisions come from a RepricePlan (meterstream.pricing.plan,
made by the same Pricer as live pricing). The result is what pricing each stored row on its
own gives: per row and line, quantity × unit price rounded half-to-even to 12 places, like
the engine, summed by service, model and the model it is priced as.

How `run_reprice` gets there without per-row arithmetic:

1. One query (RepriceGroupsQuery, FINAL: a row stored twice counts once, as in every report)
   sums the stored quantities per price-relevant group: tenant, service, model, voice tier,
   billing mode, unit, resolution, audio flag, how many long-context thresholds the prompt
   exceeds, which price period it falls in (every catalog version starts or ends on a
   boundary; only the boundaries inside the range cost a comparison per row), and whether its
   token counts are inconsistent (priced by nothing). Every row of a group has the same unit
   prices. A month of 10 million stored events is a few hundred to a few thousand groups.
   A month stored as one merged part (a closed month; `OPTIMIZE … FINAL` makes one) is read
   instead from the table's projection of the same groups per UTC hour (migrations 9-11;
   ProjectedGroupsQuery, without FINAL): about 27,000 pre-summed rows for a month of 1.7 M
   events instead of the rows. That is exact because a merge of a ReplacingMergeTree keeps one
   row per event and rebuilds the projection from those rows ('rebuild'): the case where FINAL
   has nothing to collapse. Months of several parts (or of one unmerged part) are scanned
   with FINAL as before, and so is a month whose part changes while it is read
   (stored_groups). On a cluster the Distributed table has no parts: everything is scanned.
2. The plan is built from the groups' (tenant, model, unit, voice tier): no second scan.
3. Each group is priced in Python with the plan's unit prices (pricing/groups.py, shared with
   the savings recommendations): the version in effect in its period (as the ASOF JOIN picks
   it), long-context prices above the threshold, the component the engine would bill. That
   is exact, not an estimate: with unit prices of at most 12 places (6 for video seconds,
   which carry 6) no per-row line needs rounding, so Σ(q × p) = (Σq) × p to the last digit.
4. The rows of a rate key with a finer price (a tenant's odd discount or custom price) are
   re-priced row by row instead: RepriceQuery restricted to those rate keys, whose per-row
   SQL joins each row to its price version (ASOF JOIN on the instant it is priced at) and
   rounds each line as the engine does.

`run_reprice(..., per_row=True)` is the row-by-row path for everything: the reference the grouped path is
tested against (tests/integration/test_reprice_grouped.py, equal to the last digit on random
usage) and the baseline the benchmark times beside it. The two queries of a mixed run read the
table one after the other, not as one snapshot: rows inserted in between count for the rate
keys of the query that ran after them.

Queries are data: each is a frozen dataclass whose `to_sql()` returns (sql, parameters),
with placeholders only.

Every token kind the stream meters is billed at its own rate, as the engine splits them:
uncached text and tool-use prompt at `input`, uncached audio at `audio_input`, cached text
at `cached_input`, cached audio at `cached_audio_input`, text output and thinking at
`output`, image output at `image_output` (the cached-audio and image-output columns came
with migration 8; rows stored before it hold 0 there).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.client import Client

from meterstream.pricing import Pricer
from meterstream.pricing.entry import BASE_VIDEO_RESOLUTIONS
from meterstream.pricing.groups import QUANTITIES, PriceShape, Sums, group_cost, price_shape, prices_exactly
from meterstream.pricing.money import COST_QUANTUM, EXACT, ZERO
from meterstream.pricing.plan import OPEN_END, SEPARATOR, RateRow, RepricePlan, build_plan, usage_key
from meterstream.sinks.clickhouse.migrations import REPRICE_PROJECTION_THRESHOLDS
from meterstream.sinks.clickhouse.usage_groups import (
    COLUMNS_OVER_ALIASES,
    HOUR,
    INCONSISTENT_TOKENS,
    QUANTITY_SUMS,
    RESOLUTION,
    price_period,
    prompt_class,
)
from meterstream.sinks.clickhouse.usage_queries import ch_time, run_query, utc

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
    only_rate_keys: tuple[str, ...] | None = None  # only the rows these rate keys price (None: every row)

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        where, params = self.filter.where()
        if self.only_rate_keys is not None:
            where += f"{' AND' if where else ' WHERE'} rate_key IN {{only_rate_keys:Array(String)}}"
            params["only_rate_keys"] = list(self.only_rate_keys)
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
               {RESOLUTION} AS res
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


Span = tuple[datetime, datetime]  # [start, end), UTC


def _any_span(spans: Sequence[tuple[datetime | None, datetime | None]], instant: str,
              name: str) -> tuple[str, dict[str, Any]]:
    """`instant` inside one of `spans` ([start, end), None: unbounded), as SQL with the
    parameters `{name}_from_i`, `{name}_to_i`."""
    terms, params = [], {}
    for i, (start, end) in enumerate(spans):
        bounds = []
        if start is not None:
            bounds.append(f"{instant} >= {{{name}_from_{i}:DateTime64(6, 'UTC')}}")
            params[f"{name}_from_{i}"] = ch_time(start)
        if end is not None:
            bounds.append(f"{instant} < {{{name}_to_{i}:DateTime64(6, 'UTC')}}")
            params[f"{name}_to_{i}"] = ch_time(end)
        terms.append(f"({' AND '.join(bounds) or 'true'})")
    return f"({' OR '.join(terms)})", params


def _groups_sql(source: str, where: str, prompts: str, period: str) -> str:
    keys = ("tenant_id, service, model, voice_tier, billing_mode, unit, res, with_audio, prompt_class, "
            "price_period, inconsistent")
    return f"""
SELECT tenant_id, service, model, voice_tier, billing_mode, billing_unit AS unit, {RESOLUTION} AS res,
       video_with_audio AS with_audio, {prompts} AS prompt_class, {period} AS price_period,
       {INCONSISTENT_TOKENS} AS inconsistent,
       count() AS operations, sum(cost) AS cost, {QUANTITY_SUMS}
FROM {source}{where}
GROUP BY {keys}
ORDER BY {keys}
{COLUMNS_OVER_ALIASES}""".strip()


@dataclass(frozen=True)
class RepriceGroupsQuery:
    """The stored usage `filter` selects (FINAL), summed per price-relevant group: tenant, service,
    model, voice tier, billing mode, unit, resolution, audio flag, prompt-size class, price period
    (`shape`'s boundaries; one period under `as_of`) and whether the token counts are inconsistent
    (uncached text below 0: unpriced). Every row of a group is priced with the same unit prices.
    `within` restricts it to those ranges of occurred_at (the rest, ProjectedGroupsQuery reads):
    positive ranges, so that the engine skips the months outside them unread."""

    database: str
    shape: PriceShape
    filter: UsageFilter = UsageFilter()
    as_of: datetime | None = None
    within: tuple[tuple[datetime | None, datetime | None], ...] | None = None

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        where, params = self.filter.where()
        if self.within is not None:
            inside, inside_params = _any_span(self.within, "occurred_at", "within")
            where += f"{' AND' if where else ' WHERE'} {inside}"
            params.update(inside_params)
        prompts, prompt_params = prompt_class(self.shape.thresholds)
        start, end = (None if at is None else utc(at) for at in (self.filter.start, self.filter.end))
        period, period_params = (("toUInt32(0)", {}) if self.as_of is not None
                                 else price_period(self.shape.boundaries, start, end))
        params.update(prompt_params, **period_params)
        return _groups_sql(f"{_table(self.database)} FINAL", where, prompts, period), params


@dataclass(frozen=True)
class ProjectedGroupsQuery:
    """RepriceGroupsQuery's groups for the rows of `spans` (whole UTC hours, inside months stored
    as one merged part: projection_spans), read WITHOUT FINAL so that the engine answers from
    the table's projection (migrations.REPRICE_PROJECTION: the same groups per hour) instead of
    the rows. Exact only for such months: a merged ReplacingMergeTree part holds each event once."""

    database: str
    shape: PriceShape
    spans: tuple[Span, ...]
    tenant_id: str | None = None
    as_of: datetime | None = None

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        where, params = _any_span(self.spans, HOUR, "span")
        if self.tenant_id is not None:
            where = f"tenant_id = {{tenant_id:String}} AND {where}"
            params["tenant_id"] = self.tenant_id
        # Every expression over the projection's keys, spelled as it spells them.
        prompts, _ = prompt_class(self.shape.thresholds, literal=True)
        period, period_params = (("toUInt32(0)", {}) if self.as_of is not None else
                                 price_period(self.shape.boundaries, self.spans[0][0], self.spans[-1][1], HOUR))
        params.update(period_params)
        return _groups_sql(_table(self.database), f" WHERE {where}", prompts, period), params


@dataclass(frozen=True)
class ActivePartsQuery:
    """The active parts of usage_events: partition, name, merge level (grouped in Python by
    merged_partitions: half the time of a GROUP BY over system.parts, paid on every re-pricing)."""

    database: str

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        return ("SELECT partition_id, name, level FROM system.parts "
                "WHERE database = {database:String} AND table = 'usage_events' AND active",
                {"database": self.database})


def merged_partitions(parts: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The partitions that are exactly one active part made by a merge (level > 0), with that
    part's name. A merge of a ReplacingMergeTree keeps one row per event, so such a partition
    holds no duplicate: the case where FINAL has nothing to collapse (and skips itself). A
    partition of one freshly inserted part (level 0) is left out: nothing merged it."""
    by_partition: dict[str, list[Mapping[str, Any]]] = {}
    for part in parts:
        by_partition.setdefault(part["partition_id"], []).append(part)
    return {partition: found[0]["name"] for partition, found in by_partition.items()
            if len(found) == 1 and found[0]["level"] > 0}


def month_of(partition_id: str) -> Span | None:
    """The month a usage_events partition holds (`PARTITION BY toYYYYMM(occurred_at)`: id '202603'
    is March 2026), or None for an id of another form."""
    if len(partition_id) != 6 or not partition_id.isdigit() or not 1 <= int(partition_id[4:]) <= 12:
        return None
    year, month = int(partition_id[:4]), int(partition_id[4:])
    start = datetime(year, month, 1, tzinfo=UTC)
    return start, datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def _on_the_hour(at: datetime) -> bool:
    return at.minute == 0 and at.second == 0 and at.microsecond == 0


def _hour_after(at: datetime) -> datetime:
    """The first whole hour at or after `at`."""
    floor = at.replace(minute=0, second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(hours=1)


def projection_spans(filter: UsageFilter, shape: PriceShape, merged_months: Iterable[Span]) -> tuple[Span, ...]:
    """The whole UTC hours of `filter`'s range inside `merged_months` (months stored as one merged
    part), joined where they touch: what ProjectedGroupsQuery may read. Empty when the projection
    cannot give the groups: a session filter (the projection has no sessions), a long-context
    threshold it does not store, or a price boundary off the hour (its groups are per hour)."""
    if filter.session_id is not None or not set(shape.thresholds) <= set(REPRICE_PROJECTION_THRESHOLDS):
        return ()
    if not all(_on_the_hour(utc(b)) for b in shape.boundaries):
        return ()
    start = None if filter.start is None else _hour_after(utc(filter.start))
    end = None if filter.end is None else utc(filter.end).replace(minute=0, second=0, microsecond=0)
    spans: list[Span] = []
    for month_start, month_end in sorted(merged_months):
        lo = month_start if start is None else max(month_start, start)
        hi = month_end if end is None else min(month_end, end)
        if lo >= hi:
            continue
        if spans and spans[-1][1] == lo:
            spans[-1] = (spans[-1][0], hi)
        else:
            spans.append((lo, hi))
    return tuple(spans)


def outside(filter: UsageFilter, spans: Sequence[Span]) -> tuple[tuple[datetime | None, datetime | None], ...]:
    """`filter`'s range [start, end) (None: unbounded) less `spans` (ascending, inside it): the
    ranges the FINAL query still reads; empty when the spans cover it all (a whole month)."""
    rest, at = [], None if filter.start is None else utc(filter.start)
    for lo, hi in spans:
        if at is None or at < lo:
            rest.append((at, lo))
        at = hi
    end = None if filter.end is None else utc(filter.end)
    if end is None or at < end:
        rest.append((at, end))
    return tuple(rest)


@dataclass(frozen=True, slots=True, kw_only=True)
class RepriceGroup(Sums):
    """One row of RepriceGroupsQuery: the group's keys and its summed quantities (Sums)."""

    tenant_id: str
    service: str
    model: str
    voice_tier: str
    billing_mode: str
    unit: str
    resolution: str
    with_audio: bool
    prompt_class: int
    price_period: int
    inconsistent: bool
    operations: int
    cost: Decimal  # as stored

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> RepriceGroup:
        return cls(tenant_id=row["tenant_id"], service=row["service"], model=row["model"],
                   voice_tier=row["voice_tier"], billing_mode=row["billing_mode"], unit=row["unit"],
                   resolution=row["res"], with_audio=bool(row["with_audio"]), prompt_class=row["prompt_class"],
                   price_period=row["price_period"], inconsistent=bool(row["inconsistent"]),
                   operations=row["operations"], cost=row["cost"], **{name: row[name] for name in QUANTITIES})


_Totals = list  # [operations, current, current of priced, repriced, unpriced] of one (service, model, priced_as)


def _add(totals: dict[tuple[str, str, str], _Totals], key: tuple[str, str, str], operations: int,
         current: Decimal, current_priced: Decimal, repriced: Decimal, unpriced: int) -> None:
    entry = totals.setdefault(key, [0, ZERO, ZERO, ZERO, 0])
    entry[0] += operations
    entry[1] = EXACT.add(entry[1], current)
    entry[2] = EXACT.add(entry[2], current_priced)
    entry[3] = EXACT.add(entry[3], repriced)
    entry[4] += unpriced


def per_row_rate_keys(plan: RepricePlan) -> set[str]:
    """The rate keys with a unit price too fine for summed quantities (pricing/groups.py): their
    rows are re-priced one by one."""
    return {row.rate_key for row in plan.rates
            if not (prices_exactly(dict(row.prices), row.unit) and prices_exactly(dict(row.long_prices), row.unit))}


def splits_every_price_change(shape: PriceShape, plan: RepricePlan) -> bool:
    """Whether groups on `shape` never span one of `plan`'s version boundaries or thresholds."""
    boundaries = set(shape.boundaries)
    return all(row.valid_from in boundaries and row.valid_to in boundaries
               and (not row.threshold or row.threshold in shape.thresholds) for row in plan.rates)


def price_groups(plan: RepricePlan, shape: PriceShape, groups: Iterable[RepriceGroup], as_of: datetime | None,
                 totals: dict[tuple[str, str, str], _Totals], per_row: set[str]) -> None:
    """Add each group's current and re-priced cost to `totals`, as RepriceQuery prices its rows:
    the rate version in effect at the group's period (ASOF), long-context prices above the
    threshold, the component the engine picks; unpriced when no version, unit or component
    fits or the token counts are inconsistent. Groups of the `per_row` rate keys are skipped."""
    versions: dict[tuple[str, str], list[RateRow]] = {}
    for row in plan.rates:  # sorted by (rate key, mode, valid_from)
        versions.setdefault((row.rate_key, row.billing_mode), []).append(row)
    at_fixed = None if as_of is None else utc(as_of)
    for group in groups:
        rate_key = plan.targets[usage_key(group.tenant_id, group.model, group.voice_tier)]
        if rate_key in per_row:
            continue
        at = at_fixed if as_of is not None else shape.period_start(group.price_period)
        rate = None
        if rate_key and at is not None:
            rate = next((row for row in reversed(versions.get((rate_key, group.billing_mode), ()))
                         if row.valid_from <= at), None)
        cost = None
        if (rate is not None and at < rate.valid_to and rate.unit == group.unit
                and not (group.unit == "tokens" and group.inconsistent)):
            table = dict(rate.long_prices if shape.is_long(rate.threshold, group.prompt_class) else rate.prices)
            cost = group_cost(table, group.unit, group, group.resolution or None, group.with_audio)
        key = (group.service, group.model, RepricePlan.target_model(rate_key) if rate_key else "")
        if cost is None:
            _add(totals, key, group.operations, group.cost, ZERO, ZERO, group.operations)
        else:
            _add(totals, key, group.operations, group.cost, group.cost, cost, 0)


def _per_row(client: Client, database: str, plan: RepricePlan, filter: UsageFilter, as_of: datetime | None,
             totals: dict[tuple[str, str, str], _Totals], only_rate_keys: tuple[str, ...] | None = None) -> None:
    sql, params = RepriceQuery(database, plan, filter, as_of, only_rate_keys).to_sql()
    for service, model, priced_as, operations, current, current_priced, repriced, unpriced \
            in client.query(sql, parameters=params).result_rows:
        _add(totals, (service, model, priced_as), operations, current, current_priced, repriced, unpriced)


def _result(plan: RepricePlan, totals: dict[tuple[str, str, str], _Totals]) -> RepriceResult:
    lines = []
    for key in sorted(totals):
        operations, current, current_priced, repriced, unpriced = totals[key]
        repriced = repriced.quantize(COST_QUANTUM, context=EXACT)  # Decimal128(12), as the per-row query's sum
        lines.append(RepriceLine(*key, operations, current, repriced, EXACT.subtract(repriced, current_priced),
                                 unpriced))
    return RepriceResult(plan.catalog_version, lines)


def whole_months(start: datetime, end: datetime) -> list[str]:
    """The usage_events partitions (YYYYMM) of the months that lie entirely inside [start, end)."""
    start, end = utc(start), utc(end)
    year, month = start.year, start.month
    if start != datetime(year, month, 1, tzinfo=UTC):  # a month begun before the range is not whole
        year, month = year + month // 12, month % 12 + 1
    months = []
    while (bounds := month_of(f"{year:04d}{month:02d}")) is not None and bounds[1] <= end:
        months.append(f"{year:04d}{month:02d}")
        year, month = year + month // 12, month % 12 + 1
    return months


def merge_months(client: Client, database: str, start: datetime, end: datetime) -> list[str]:
    """Merge each whole month of [start, end) to one part (`OPTIMIZE … PARTITION … FINAL`), so that
    re-pricing reads it from the projection; what closing a month would do. The merge rewrites
    the month (about 3 s for 1.7 M events here) and keeps one row per event, as FINAL counts them.
    Returns the partitions merged. Not for a month still being written: its next insert makes a
    second part again."""
    months = whole_months(start, end)
    for partition in months:
        client.command(f"OPTIMIZE TABLE {_table(database)} PARTITION ID '{partition}' FINAL")
    return months


def _groups(client: Client, query: RepriceGroupsQuery | ProjectedGroupsQuery) -> list[RepriceGroup]:
    return [RepriceGroup.of(row) for row in run_query(client, query)]


def _merged_parts(client: Client, database: str) -> dict[str, str]:
    return merged_partitions(run_query(client, ActivePartsQuery(database)))


def stored_groups(client: Client, database: str, shape: PriceShape, filter: UsageFilter,
                  as_of: datetime | None, projection: bool = True) -> list[RepriceGroup]:
    """The groups of the usage `filter` selects: from the projection for the whole hours of months
    stored as one merged part, FINAL for the rest (RepriceGroupsQuery, everything when no month is).

    The parts are listed before and after the projection is read. A part's name is never reused,
    so when each month read has the same single part both times, that part is all the read saw;
    otherwise (an insert, merge or mutation in between) every group is read again with FINAL.
    `projection=False` scans everything with FINAL (the path before the projection)."""
    if not projection:
        return _groups(client, RepriceGroupsQuery(database, shape, filter, as_of))
    merged = _merged_parts(client, database)
    months = {partition: month for partition in merged if (month := month_of(partition)) is not None}
    spans = projection_spans(filter, shape, months.values())
    if not spans:
        return _groups(client, RepriceGroupsQuery(database, shape, filter, as_of))
    read = {partition for partition, (lo, hi) in months.items() if any(a < hi and lo < b for a, b in spans)}
    projected = _groups(client, ProjectedGroupsQuery(database, shape, spans, filter.tenant_id, as_of))
    after = _merged_parts(client, database)
    if any(after.get(partition) != merged[partition] for partition in read):
        return _groups(client, RepriceGroupsQuery(database, shape, filter, as_of))
    if not (rest := outside(filter, spans)):
        return projected
    return projected + _groups(client, RepriceGroupsQuery(database, shape, filter, as_of, within=rest))


def run_reprice(
    client: Client,
    database: str,
    pricer: Pricer,
    *,
    filter: UsageFilter = UsageFilter(),
    swap: Mapping[str, str] | None = None,
    as_of: datetime | None = None,
    per_row: bool = False,
    projection: bool = True,
) -> RepriceResult:
    """Re-price the stored usage `filter` selects with `pricer` (its catalog and tenant pricing).

    One query sums the quantities per price-relevant group (RepriceGroupsQuery); the groups are
    priced here with the plan's unit prices, exactly (pricing/groups.py). Rows whose rate key
    has a price too fine for that are re-priced row by row in ClickHouse (RepriceQuery). Months
    stored as one merged part are summed from the table's projection (stored_groups);
    `projection=False` scans them with FINAL too: the path before, which the benchmark times beside it.

    `per_row=True` prices every row on its own in ClickHouse (DistinctUsageQuery for the plan,
    then RepriceQuery): the reference the grouped path is tested equal to, to the last digit,
    and the baseline the benchmark times beside it."""
    totals: dict[tuple[str, str, str], _Totals] = {}
    if per_row:
        sql, params = DistinctUsageQuery(database, filter).to_sql()
        usage: Sequence[tuple[str, str, str, str]] = client.query(sql, parameters=params).result_rows
        plan = build_plan(pricer, usage, swap)
        _per_row(client, database, plan, filter, as_of, totals)
        return _result(plan, totals)
    shape = price_shape(pricer, OPEN_END)
    groups = stored_groups(client, database, shape, filter, as_of, projection)
    plan = build_plan(pricer, sorted({(g.tenant_id, g.model, g.unit, g.voice_tier) for g in groups}), swap)
    if not splits_every_price_change(shape, plan):  # not with the catalog's own versions: never seen
        _per_row(client, database, plan, filter, as_of, totals)
        return _result(plan, totals)
    fine = per_row_rate_keys(plan)
    price_groups(plan, shape, groups, as_of, totals, fine)
    if fine & set(plan.targets.values()):
        _per_row(client, database, plan, filter, as_of, totals, tuple(sorted(fine)))
    return _result(plan, totals)

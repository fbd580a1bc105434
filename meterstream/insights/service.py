"""Running the insights queries and rules: what the API routes and the CLI call.

Synchronous (clickhouse-connect is); the API runs these in its thread pool.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.client import Client

from meterstream.insights.forecast import MonthForecast, forecast_month, month_bounds
from meterstream.insights.queries import CostDistribution, DailySpend, Scope, TopOperations, TopSpenders, UsageGroups
from meterstream.insights.recommendations import GroupPricer, RecommendationSet, Scope as RuleScope, UsageGroup, \
    recommend
from meterstream.pricing import Pricer
from meterstream.pricing.groups import QUANTITIES, price_shape
from meterstream.sinks.clickhouse.usage_queries import UsageReport, run_query, utc

Rows = Callable[[Any], list[dict[str, Any]]]


def usage_group(row: dict[str, Any]) -> UsageGroup:
    flags = {name: bool(row[name]) for name in ("short_output", "non_interactive", "long_uncached_prompt")}
    flags["with_audio"] = row["unit"] == "video" and bool(row["with_audio"])
    flags["resolution_4k"] = row["unit"] == "video" and row["res"] == "4k"
    return UsageGroup(
        model=row["model"], billing_mode=row["billing_mode"], unit=row["unit"], voice_tier=row["voice_tier"],
        resolution=row["res"], with_audio=bool(row["with_audio"]), at=utc(row["at"]), prompt_class=row["prompt_class"],
        scopes=frozenset(RuleScope(name) for name, on in flags.items() if on), currency=row["currency"],
        priced=bool(row["priced"]), operations=row["operations"], cost=row["cost"],
        **{name: row[name] for name in QUANTITIES},
    )


def recommendations(rows: Rows, database: str, pricer: Pricer, scope: Scope,
                    non_interactive_hours: tuple[int, ...] = ()) -> RecommendationSet:
    """`non_interactive_hours`: UTC hours whose usage counts as non-interactive for the batch rule,
    as tagged usage does (recommendations.parse_hours)."""
    shape = price_shape(pricer)
    groups = [usage_group(row) for row in rows(UsageGroups(database, scope, shape.thresholds, shape.boundaries,
                                                           tuple(non_interactive_hours)))]
    return recommend(groups, GroupPricer(pricer, scope.tenant_id, shape.thresholds))


@dataclass(frozen=True)
class Distribution:
    by: str
    currency: str
    units: int
    p50: Decimal
    p90: Decimal
    p99: Decimal
    max: Decimal
    total: Decimal
    with_unpriced: int  # with some unpriced operations (their priced part counts)
    unpriced_only: int  # with unpriced operations only: not in the figures above


def distributions(rows: Rows, database: str, scope: Scope) -> list[Distribution]:
    out = []
    for by in ("session", "user"):
        for row in rows(CostDistribution(database, scope, by)):
            p50, p90, p99 = row["q"]
            out.append(Distribution(by, row["currency"], row["units"], p50, p90, p99, row["max_cost"],
                                    row["total_cost"], row["with_unpriced"], row["unpriced_only"]))
    return out


def top(rows: Rows, database: str, scope: Scope, by: str, limit: int) -> list[dict[str, Any]]:
    query = TopOperations(database, scope, limit) if by == "event" else TopSpenders(database, scope, by, limit)
    return rows(query)


@dataclass(frozen=True)
class Change:
    service: str
    model: str
    currency: str
    current: Decimal
    previous: Decimal
    change: Decimal
    ratio: Decimal | None  # current / previous, 6 places; None when previous is 0
    current_unpriced: int
    previous_unpriced: int


def compare(rows: Rows, database: str, tenant_id: str, start: datetime, end: datetime) -> list[Change]:
    """This period against the previous one of the same length, by service and model."""
    span = end - start
    periods = [{(r["service"], r["model"], r["currency"]): r for r in rows(
        UsageReport(database, tenant_id, s, e, ("service", "model")))} for s, e in ((start, end), (start - span, start))]
    out = []
    for key in sorted(set(periods[0]) | set(periods[1])):
        now, before = periods[0].get(key), periods[1].get(key)
        current = now["cost"] if now else Decimal(0)
        previous = before["cost"] if before else Decimal(0)
        ratio = None if previous == 0 else (current / previous).quantize(Decimal("0.000001"))
        out.append(Change(*key, current, previous, current - previous, ratio,
                          now["unpriced_operations"] if now else 0, before["unpriced_operations"] if before else 0))
    out.sort(key=lambda c: (-abs(c.change), c.service, c.model))
    return out


def forecast(rows: Rows, database: str, tenant_id: str, now: datetime) -> tuple[MonthForecast, int]:
    """The month containing `now`: the forecast and how many operations so far were unpriced."""
    start, _ = month_bounds(now)
    daily = rows(DailySpend(database, Scope(tenant_id, start, now + timedelta(microseconds=1))))
    return (forecast_month({r["day"]: r["cost"] for r in daily}, now), sum(r["unpriced"] for r in daily))


def client_rows(client: Client) -> Rows:
    return lambda query: run_query(client, query)

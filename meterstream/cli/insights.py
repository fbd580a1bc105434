"""`meterstream insights`: savings, tops, distributions, comparison and forecast from ClickHouse;
spend anomalies from this host's alert feed.

Spend anomalies are alerts the stream raises (kinds anomaly.spend and anomaly.burst), not a
ClickHouse query: `insights anomalies` reads them where `meterstream alerts` reads the feed (the
host's SQLite file, which `serve` fills), as GET /v1/insights/anomalies does.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from meterstream.cli.common import connect_clickhouse, console
from meterstream.pricing.money import money_text
from meterstream.settings import Settings

VIEWS = ("recommendations", "anomalies", "top", "distributions", "compare", "forecast")


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _hours(text: str) -> tuple[int, ...]:
    from meterstream.insights.recommendations import parse_hours

    try:
        return parse_hours(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, frozenset, set)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def _table(title: str, rows: list[dict[str, Any]], empty: str = "nothing in this period") -> None:
    """Columns from the rows' keys. Nothing is cut at 80 columns: a value too wide for its column
    wraps (money is exact, names whole), so each view keeps to the few columns that fit."""
    table = Table(title=title, title_justify="left", pad_edge=False)
    if not rows:
        Console().print(f"{title}: {empty}")
        return
    for column in rows[0]:
        value = rows[0][column]
        table.add_column(column, overflow="fold",
                         justify="right" if isinstance(value, (Decimal, int)) or value is None else "left")
    for row in rows:
        table.add_row(*("unpriced" if v is None else money_text(v) if isinstance(v, Decimal) else str(v)
                        for v in row.values()))
    Console().print(table)


def _ops(operations: int, unpriced: int) -> str:
    return f"{operations:,}" + (f" ({unpriced:,} unpriced)" if unpriced else "")


def _top_rows(by: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ranked rows in a few columns (the JSON has them all)."""
    if by == "event":
        return [{"when (UTC)": f"{r['occurred_at']:%Y-%m-%d %H:%M}", "session": r["session_id"], "model": r["model"],
                 "cost": None if r["pricing_status"] == "unpriced" else r["cost"]} for r in rows]
    keys = {"session": ("session_id",), "user": ("user_id",), "operation": ("service", "operation")}[by]
    return [{**{key.removesuffix("_id"): r[key] or "-" for key in keys}, "ops": _ops(r["operations"], r["unpriced"]),
             f"cost {r['currency']}": None if r["unpriced"] == r["operations"] else r["cost"]} for r in rows]


def _distribution_rows(found: list[Any]) -> list[dict[str, Any]]:
    return [{"per": f"{d.by} ({d.currency})", "count": d.units, "p50": d.p50, "p90": d.p90, "p99": d.p99,
             "max": d.max, "total": d.total, "unpriced only": d.unpriced_only} for d in found]


def _change_rows(found: list[Any]) -> list[dict[str, Any]]:
    unpriced = any(c.current_unpriced or c.previous_unpriced for c in found)
    return [{"service": c.service, "model": c.model, f"now {c.currency}": c.current, "before": c.previous,
             "change": c.change, "ratio": "-" if c.ratio is None else money_text(c.ratio),
             **({"unpriced now/before": f"{c.current_unpriced}/{c.previous_unpriced}"} if unpriced else {})}
            for c in found]


def _anomalies(args: argparse.Namespace, settings: Settings) -> int:
    """The tenant's anomaly alerts, newest first: an hour's (60 min) or five minutes' (a burst)
    spend far above its baseline. Unpriced usage is no spend, so it never raises one."""
    from meterstream.cli.alerts import alert_store
    from meterstream.schemas.alerts import ANOMALY_KINDS

    records = [a.record for a in alert_store(settings).list_alerts(args.tenant, args.limit, ANOMALY_KINDS)]
    if args.json:
        print(json.dumps({"anomalies": _plain([r.model_dump() for r in records])}, indent=2))
        return 0
    found = [r.anomaly for r in records if r.anomaly is not None]
    currencies = ", ".join(sorted({a.currency for a in found}))
    _table(f"spend anomalies of {args.tenant}{f' in {currencies}' if currencies else ''}, newest first",
           [{"window (UTC)": f"{a.window_start:%Y-%m-%d %H:%M}", "min": a.window_minutes, "series": a.series,
             "spent": a.spent, "expected": a.expected} for a in found], "none raised")
    if any(a.drivers for a in found):
        print("drivers (spent vs expected), the largest excess first:")
    for a in found:
        for d in a.drivers:
            print(f"  {a.window_start:%Y-%m-%d %H:%M} {d.user_id or 'no user'}, {d.model} ({d.service}): "
                  f"{money_text(d.spent)} vs {money_text(d.expected)}")
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.view == "anomalies":
        return _anomalies(args, settings)
    from clickhouse_connect.driver.exceptions import DatabaseError

    from meterstream.insights import service
    from meterstream.insights.queries import Scope
    from meterstream.pricing import Pricer, load_catalog, load_tenants

    end = args.end or datetime.now(UTC)
    start = args.start or end - timedelta(days=30)
    if start >= end:
        console.print("[red]--start must be before --end[/]")
        return 2
    if (args.attribute is None) != (args.value is None):
        console.print("[red]--attribute and --value go together[/]")
        return 2
    dsn = settings.clickhouse_url
    client = connect_clickhouse(settings)  # a running `serve` holds the embedded folder: ask its API then
    if client is None:
        return 3
    rows, database = service.client_rows(client), settings.clickhouse_database
    scope = Scope(args.tenant, start, end, args.user, args.session, args.attribute, args.value)
    try:
        with console.status(f"computing {args.view} in ClickHouse..."):
            if args.view == "recommendations":
                found = service.recommendations(
                    rows, database, Pricer(load_catalog(settings.catalog), load_tenants(settings.tenant_pricing_file)),
                    scope, args.non_interactive_hours)
                result: Any = {"total_cost": found.total_cost, "operations": found.operations,
                               "unpriced_operations": found.unpriced_operations,
                               "recommendations": found.recommendations}
            elif args.view == "top":
                result = service.top(rows, database, scope, args.by, args.limit)
            elif args.view == "distributions":
                result = service.distributions(rows, database, scope)
            elif args.view == "compare":
                result = service.compare(rows, database, args.tenant, start, end)
            else:
                forecast, unpriced = service.forecast(rows, database, args.tenant, args.end or datetime.now(UTC))
                result = {**asdict(forecast), "unpriced_operations": unpriced}
    except DatabaseError as error:
        console.print(f"[red]cannot read {database}.usage_events at {dsn}[/]: {str(error).splitlines()[0]}")
        return 3
    plain = _plain(result)
    if args.json:
        print(json.dumps(plain, indent=2))
        return 0
    if args.view == "recommendations":
        _table(f"savings for {args.tenant}, {start:%Y-%m-%d} to {end:%Y-%m-%d} (priced cost "
               f"{money_text(found.total_cost)}, {found.unpriced_operations} unpriced operations)",
               [{"#": n, "model → instead": f"{r.model} → {r.alternative}", "ops": r.operations, "cost": r.cost,
                 "would cost": r.would_cost, "saving": r.saving, "share": r.share_of_cost}
                for n, r in enumerate(found.recommendations, 1)])
        for n, r in enumerate(found.recommendations, 1):
            print(textwrap.fill(f"{n}. {r.rule_id}: {r.trade_off}", 80, initial_indent="  ",
                                subsequent_indent="     ", break_long_words=False, break_on_hyphens=False))
    elif args.view == "forecast":
        _table(f"forecast of {result['month']} for {args.tenant}",
               [{"": name.replace("_", " "), "value": value} for name, value in result.items() if name != "month"])
    elif args.view == "top":
        _table(f"top {args.by}s of {args.tenant}, {start:%Y-%m-%d} to {end:%Y-%m-%d}", _top_rows(args.by, result))
    elif args.view == "distributions":
        _table(f"cost per session and per user of {args.tenant}, {start:%Y-%m-%d} to {end:%Y-%m-%d}",
               _distribution_rows(result))
    else:
        _table(f"{args.tenant}: {start:%Y-%m-%d} to {end:%Y-%m-%d} against the period before", _change_rows(result))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    insights = commands.add_parser("insights", help="savings recommendations, spend anomalies, top spenders, "
                                                    "distributions, period comparison and the month forecast")
    insights.add_argument("view", choices=VIEWS)
    insights.add_argument("--tenant", required=True)
    insights.add_argument("--start", type=_when, help="inclusive; default --end minus 30 days")
    insights.add_argument("--end", type=_when, help="exclusive; default now (for forecast: the instant to forecast at)")
    insights.add_argument("--user", help="recommendations: only this user's usage")
    insights.add_argument("--session", help="recommendations: only this session's usage")
    insights.add_argument("--attribute", help="recommendations: only usage whose attribute has --value")
    insights.add_argument("--value")
    insights.add_argument("--non-interactive-hours", type=_hours, default=(), metavar="A-B[,C-D]",
                          help="recommendations: UTC hours whose usage counts as non-interactive for batch mode, "
                               "as tagged usage does; from hour A up to, not including, B (22-6 wraps), e.g. 0-6")
    insights.add_argument("--by", choices=("event", "session", "user", "operation"), default="session",
                          help="top: what to rank")
    insights.add_argument("--limit", type=int, default=10, help="top: rows; anomalies: the newest alerts (10)")
    insights.add_argument("--json", action="store_true", help="JSON, money as exact decimal strings")
    insights.set_defaults(handler=_run)

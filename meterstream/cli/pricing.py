"""`meterstream estimate` and `meterstream reprice`: arguments, running, and printing."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from meterstream.cli.common import connect_clickhouse
from meterstream.settings import Settings

QUANTITIES = ("input_tokens", "cached_input_tokens", "audio_input_tokens", "cached_audio_input_tokens",
              "output_tokens", "thinking_tokens", "tool_use_prompt_tokens", "image_output_tokens", "images",
              "characters")
EXIT_UNPRICED = 5

err = Console(stderr=True)


def _instant(text: str) -> datetime:
    """An ISO date or date-time; without a zone it is UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _pricing_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--catalog", help="default, demo, a .toml/.json catalog file, or litellm:PATH "
                                          "(default: METERSTREAM_CATALOG)")
    parser.add_argument("--tenants", help="tenant pricing file (default: METERSTREAM_TENANT_PRICING_FILE)")
    parser.add_argument("--json", action="store_true", help="JSON output, money as exact decimal strings")


def _pricer(args: argparse.Namespace, settings: Settings) -> Any:
    from meterstream.pricing import Pricer, load_catalog, load_tenants

    tenants = load_tenants(args.tenants or settings.tenant_pricing_file)
    return Pricer(load_catalog(args.catalog or settings.catalog), tenants)


# -- estimate --------------------------------------------------------------------------------------


def add_estimate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model as the SDK names it, e.g. gemini-2.5-pro or models/veo-3.0-generate-001")
    for name in QUANTITIES:
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, metavar="N")
    parser.add_argument("--seconds", type=Decimal, metavar="S", help="seconds of video (duration × videos)")
    parser.add_argument("--no-audio", action="store_true", help="video generated without audio")
    parser.add_argument("--resolution", help="video or image resolution: 720p, 1080p, 4k, 1K, 2K")
    parser.add_argument("--voice-tier", help="Cloud TTS tier or voice name, e.g. chirp3-hd, en-US-Neural2-A")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--batch", action="store_const", const="batch", dest="mode", help="batch mode")
    mode.add_argument("--free", action="store_const", const="free", dest="mode", help="free tier")
    parser.add_argument("--tenant", help="price with this tenant's pricing")
    parser.add_argument("--at", type=_instant, help="price as of this date (default: now)")
    _pricing_arguments(parser)


def run_estimate(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.pricing import estimate
    from meterstream.schemas import BillingMode

    planned: dict[str, Any] = {name: getattr(args, name) for name in QUANTITIES if getattr(args, name) is not None}
    if args.seconds is not None:
        planned["seconds"] = args.seconds
        planned["with_audio"] = not args.no_audio
    if args.resolution:
        planned["resolution"] = args.resolution
    if args.voice_tier:
        planned["voice_tier"] = args.voice_tier
    try:
        result = estimate(args.model, planned, args.tenant, pricer=_pricer(args, settings), at=args.at,
                          billing_mode=BillingMode(args.mode or "standard"))
    except ValidationError as error:
        err.print(f"[red]not a valid planned usage:[/] {error.errors(include_url=False)[0]['msg']}")
        return 2
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        _print_estimate(result)
    return 0 if result.status == "priced" else EXIT_UNPRICED


def _print_estimate(result: Any) -> None:
    out = Console()
    if result.status != "priced":
        out.print(f"[yellow]unpriced[/]: {result.reason}")
        return
    title = (f"{result.model} priced as {result.priced_as} ({result.billing_mode.value}), "
             f"prices from {result.price_effective_from}, catalog {result.catalog_version}")
    table = Table(title=title)
    for column in ("component", "quantity", "unit price", "cost"):
        table.add_column(column, justify="left" if column == "component" else "right")
    for line in result.lines:
        table.add_row(line.component, f"{line.quantity:,} {line.unit}", f"{line.unit_price:f}", f"{line.cost:f}")
    table.add_row("total", "", "", f"{result.total_cost:f} {result.currency}", style="bold")
    out.print(table)
    for rule in result.rules:
        out.print(f"  • {rule}")


# -- reprice ---------------------------------------------------------------------------------------


def add_reprice_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--swap", action="append", default=[], metavar="OLD=NEW",
                        help="price OLD's usage as NEW's, e.g. veo-3.0-generate=veo-3.0-fast-generate (repeatable)")
    parser.add_argument("--as-of", type=_instant, help="price all usage at this date, not when it happened")
    parser.add_argument("--tenant", help="only this tenant's usage")
    parser.add_argument("--session", help="only this session's usage")
    parser.add_argument("--from", dest="start", type=_instant, help="usage from this instant (inclusive)")
    parser.add_argument("--to", dest="end", type=_instant, help="usage before this instant")
    parser.add_argument("--merge-months", action="store_true",
                        help="first merge each whole month of --from/--to to one part (OPTIMIZE ... FINAL; seconds "
                             "per month), so it is re-priced from pre-summed data: for closed months")
    _pricing_arguments(parser)


def run_reprice(args: argparse.Namespace, settings: Settings) -> int:
    from clickhouse_connect.driver.exceptions import DatabaseError

    from meterstream.sinks.clickhouse.reprice import UsageFilter, merge_months
    from meterstream.sinks.clickhouse.reprice import run_reprice as reprice

    swap = {}
    for item in args.swap:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            err.print(f"[red]--swap wants OLD=NEW, not {item!r}[/]")
            return 2
        swap[old] = new
    if args.merge_months and (args.start is None or args.end is None or settings.clickhouse_cluster):
        err.print("[red]--merge-months wants --from and --to, and a table of its own (not a cluster: there "
                  "re-pricing always scans)[/]")
        return 2
    pricer = _pricer(args, settings)
    dsn = settings.clickhouse_url
    client = connect_clickhouse(settings, err)
    if client is None:
        return 3
    usage = UsageFilter(tenant_id=args.tenant, session_id=args.session, start=args.start, end=args.end)
    try:
        if args.merge_months:
            with err.status("merging each whole month to one part..."):
                merge_months(client, settings.clickhouse_database, args.start, args.end)
        with err.status("re-pricing stored usage in ClickHouse..."):
            result = reprice(client, settings.clickhouse_database, pricer, filter=usage, swap=swap, as_of=args.as_of)
    except DatabaseError as error:
        err.print(f"[red]cannot re-price {settings.clickhouse_database}.usage_events at {dsn}[/]: "
                  f"{str(error).splitlines()[0]}")
        return 3
    if args.json:
        print(json.dumps({"catalog_version": result.catalog_version, "lines": [
            {**line.__dict__, **{k: str(v) for k, v in line.__dict__.items() if isinstance(v, Decimal)}}
            for line in result.lines
        ]}, indent=2))
        return 0
    _print_reprice(result, swap, args)
    return 0


def _print_reprice(result: Any, swap: dict[str, str], args: argparse.Namespace) -> None:
    how = [f"catalog {result.catalog_version}"]
    how += [f"{old} → {new}" for old, new in swap.items()]
    if args.as_of:
        how.append(f"prices as of {args.as_of:%Y-%m-%d}")
    table = Table(title="Re-priced usage (" + ", ".join(how) + ")")
    columns = ("service", "model", "priced as", "operations", "current cost", "re-priced cost", "difference",
               "unpriced")
    for column in columns:
        table.add_column(column, justify="left" if column in columns[:3] else "right")
    for line in result.lines:
        table.add_row(line.service, line.model, line.priced_as or "[yellow]—[/]", f"{line.operations:,}",
                      f"{line.current_cost:f}", f"{line.repriced_cost:f}", f"{line.difference:+f}",
                      str(line.unpriced) if line.unpriced else "")
    table.add_row("total", "", "", f"{sum(line.operations for line in result.lines):,}", f"{result.current_cost:f}",
                  f"{result.repriced_cost:f}", f"{result.difference:+f}", str(result.unpriced or ""), style="bold")
    Console().print(table)
    if result.unpriced:
        err.print(f"[yellow]{result.unpriced} operations cannot be priced under this catalog[/] "
                  "(unknown model, no price version at their date, or a missing price): they are not in the "
                  "re-priced cost")


def register(commands: argparse._SubParsersAction) -> None:
    estimate = commands.add_parser("estimate", help="what a planned call would cost, by the same rules as billing")
    add_estimate_arguments(estimate)
    estimate.set_defaults(handler=run_estimate)

    reprice = commands.add_parser("reprice", help="what stored usage costs under another catalog or model")
    add_reprice_arguments(reprice)
    reprice.set_defaults(handler=run_reprice)

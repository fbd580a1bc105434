"""`meterstream report` and `meterstream reconcile`: what ClickHouse holds, and whether it agrees."""

from __future__ import annotations

import argparse
import json

from rich.console import Console

from meterstream.cli.common import console
from meterstream.settings import Settings


HELD = 3  # the exit status when the embedded ClickHouse is held and nothing answers for it


def _held(settings: Settings) -> int:
    """One line: the folder is held and no serve on this machine answers for it."""
    console.print(f"[red]the embedded ClickHouse at {settings.clickhouse_url} is open in another process and no "
                  f"`meterstream serve` answers for it (no note in {settings.data_dir}): stop that process, or run "
                  "this beside `meterstream serve`, which it then asks[/]", soft_wrap=True)
    return HELD


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from decimal import Decimal

    from meterstream.api.local import ask_serve
    from meterstream.console_tables import cost_table
    from meterstream.sinks.clickhouse import CostReport, ReportResult, connect, run_report
    from meterstream.sinks.clickhouse.client import EmbeddedClickHouseHeld

    report = CostReport(settings.clickhouse_database, group_by=tuple(args.group_by.split(",")),
                        tenant_id=args.tenant, session_id=args.session)
    try:
        result = run_report(connect(settings.clickhouse_url), report)
    except EmbeddedClickHouseHeld:
        answer = ask_serve(settings, "/local/report", {"group_by": list(report.group_by), "tenant_id": args.tenant,
                                                       "session_id": args.session})
        if answer is None:
            return _held(settings)
        result = ReportResult(tuple(answer["columns"]), [tuple(row) for row in answer["rows"]])
    if args.json:
        rows = [dict(zip(result.columns, (str(v) if isinstance(v, Decimal) else v for v in row)))
                for row in result.rows]
        print(json.dumps(rows, indent=2))
        return 0
    Console().print(cost_table(f"cost by {args.group_by}", result.columns, result.rows, report.group_by))
    return 0


def _reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.api.local import ask_serve
    from meterstream.reconcile import reconcile
    from meterstream.sinks.clickhouse import connect
    from meterstream.sinks.clickhouse.client import EmbeddedClickHouseHeld

    with console.status("reading the source and DLQ topics, the worker and ClickHouse..."):
        try:
            found = reconcile(settings, connect(settings.clickhouse_url), args.worker_url or None)
            consistent, summary, differences = found.consistent, found.summary(), found.differences
        except EmbeddedClickHouseHeld:
            answer = ask_serve(settings, "/local/reconcile", {"worker_urls": args.worker_url or None})
            if answer is None:
                return _held(settings)
            consistent, summary, differences = answer["consistent"], answer["summary"], answer["differences"]
    if consistent:
        print(f"consistent: {summary}")
        return 0
    print(f"INCONSISTENT ({len(differences)} differences): {summary}")
    for line in differences:
        print(f"  - {line}")
    return 1


def register(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser("report", help="cost and quantities from ClickHouse, grouped")
    report.add_argument("--group-by", default="service,model",
                        help="comma-separated: tenant_id, session_id, user_id, service, model, operation, pricing_status")
    report.add_argument("--tenant")
    report.add_argument("--session")
    report.add_argument("--json", action="store_true", help="JSON rows, money as exact decimal strings")
    report.set_defaults(handler=_report)

    reconcile = commands.add_parser("reconcile", help="check that the topic, the worker and ClickHouse agree")
    reconcile.add_argument("--worker-url", action="append", help="a worker's HTTP address (repeat for several)")
    reconcile.set_defaults(handler=_reconcile)

"""`meterstream report` and `meterstream reconcile`: what ClickHouse holds, and whether it agrees."""

from __future__ import annotations

import argparse
import json

from rich.console import Console

from meterstream.cli.common import console
from meterstream.settings import Settings


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from decimal import Decimal

    from rich.table import Table

    from meterstream.sinks.clickhouse import CostReport, connect, run_report

    report = CostReport(settings.clickhouse_database, group_by=tuple(args.group_by.split(",")),
                        tenant_id=args.tenant, session_id=args.session)
    result = run_report(connect(settings.clickhouse_url), report)
    if args.json:
        rows = [dict(zip(result.columns, (str(v) if isinstance(v, Decimal) else v for v in row)))
                for row in result.rows]
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title=f"cost by {args.group_by}")
    for column in result.columns:
        table.add_column(column, justify="left" if column in report.group_by else "right")
    for row in result.rows:
        table.add_row(*(str(v) for v in row))
    Console().print(table)
    return 0


def _reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.reconcile import reconcile
    from meterstream.sinks.clickhouse import connect

    with console.status("reading the source and DLQ topics, the worker and ClickHouse..."):
        report = reconcile(settings, connect(settings.clickhouse_url), args.worker_url or None)
    if report.consistent:
        print(f"consistent: {report.summary()}")
        return 0
    print(f"INCONSISTENT ({len(report.differences)} differences): {report.summary()}")
    for line in report.differences:
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

"""`meterstream demo`: the whole pipeline on embedded defaults, with live totals and a report."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table

from meterstream.console_tables import cost_table, totals_table
from meterstream.demo.budgets import DemoBudgets
from meterstream.insights import service as insights
from meterstream.insights.queries import Scope
from meterstream.devstack.pipeline import LocalPipeline, local_broker
from meterstream.pricing import Pricer, load_catalog, load_tenants
from meterstream.pricing.money import money_text
from meterstream.producers import UsageEmitter
from meterstream.producers.workload import studio_workload
from meterstream.schemas import SessionTotals
from meterstream.settings import Settings
from meterstream.sinks.clickhouse import CostReport, run_report

console = Console()
TENANT = "acme-creative"


def _totals_table(totals: list[SessionTotals]) -> Table:
    return totals_table("Live session totals (from the worker)", totals, limit=10)


def run_demo(settings: Settings, events: int = 5000, sessions: int = 20, rate: float = 1000.0) -> None:
    demo_settings = settings.model_copy(update={"data_dir": settings.data_dir / "demo"})
    # Each demo starts from nothing, so its report shows exactly this run.
    local_broker(demo_settings).stop()
    shutil.rmtree(demo_settings.data_dir, ignore_errors=True)
    console.print(f"[bold]meterstream demo[/]: {events:,} events over {sessions} sessions at up to {rate:,.0f}/s")
    console.print(f"data folder: {demo_settings.data_dir}")
    with console.status("starting Kafka broker, worker and ClickHouse sink..."):
        pipeline = LocalPipeline(demo_settings).start()
    try:
        _drive(pipeline, events, sessions, rate)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: stopping the pipeline[/]")
    finally:
        with console.status("stopping..."):
            pipeline.stop()
    console.print(f"Kafka log: {demo_settings.data_dir / 'kafka'}  worker state: {demo_settings.data_dir / 'worker'}")
    console.print(f"ClickHouse (embedded): {demo_settings.clickhouse_url}  database {demo_settings.clickhouse_database}")


def _drive(pipeline: LocalPipeline, events: int, sessions: int, rate: float) -> None:
    settings = pipeline.settings
    run = uuid.uuid4().hex[:6]
    workload = list(studio_workload(events, sessions=sessions, session_prefix=f"demo-{run}-"))
    session_ids = sorted({e.session_id for e in workload})
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[info]}"))
    emitted = progress.add_task("emitted", total=len(workload), info="")
    metered = progress.add_task("metered", total=len(workload), info="")
    stored = progress.add_task("stored in ClickHouse", total=len(workload), info="")
    totals: list[SessionTotals] = []
    budgets = DemoBudgets(settings, TENANT)
    budgets.define(workload)
    start = time.monotonic()
    baseline = sum(pipeline.worker.counts().values())
    last_refresh = 0.0

    def refresh(live: Live) -> None:
        nonlocal totals, last_refresh
        if time.monotonic() - last_refresh < 0.5:
            return
        last_refresh = time.monotonic()
        counts = pipeline.worker.counts()
        done = sum(counts.values()) - baseline
        totals = [t for t in map(pipeline.worker.session_totals, session_ids) if t is not None]
        elapsed = time.monotonic() - start
        progress.update(metered, completed=done, info=f"{done / elapsed:,.0f} events/s")
        progress.update(stored, completed=pipeline.sink.runner.counts.stored)
        live.update(Group(progress, _totals_table(totals), budgets.table(), budgets.alerts_table()))

    with UsageEmitter(settings) as emitter, Live(Group(progress), console=console, refresh_per_second=4) as live:
        for n, event in enumerate(workload, 1):
            emitter.emit(event)
            if n % 50 == 0:
                progress.update(emitted, completed=n)
                refresh(live)
                ahead = n / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
        # One re-sent event (a client retry) and one malformed message: both are handled.
        emitter.emit(workload[0])
        emitter.send_raw(b"demo", b'{"tenant_id": "%s", "usage": "not an object"}' % TENANT.encode())
        emitter.flush()
        progress.update(emitted, completed=len(workload))
        deadline = time.monotonic() + 120

        def wait_for(done: Callable[[], bool]) -> None:
            while time.monotonic() < deadline and not done():
                refresh(live)
                time.sleep(0.1)

        # Admission control once the budgets have counted the whole workload.
        wait_for(lambda: sum(pipeline.worker.counts().values()) - baseline >= len(workload) + 2)
        settled = budgets.reserve_and_settle(emitter, workload)
        emitter.flush()
        wait_for(lambda: pipeline.sink.runner.counts.stored >= len(workload) + settled)
        last_refresh = 0
        refresh(live)
    elapsed = time.monotonic() - start
    counts = pipeline.worker.counts()
    console.print(
        f"metered {len(workload):,} events in {elapsed:.1f}s ({len(workload) / elapsed:,.0f} events/s end to end); "
        f"worker counts: {counts}"
    )
    console.print(budgets.table())
    console.print(budgets.alerts_table(wait=True))
    budgets.close()
    _report(pipeline, session_ids, totals)


def _report(pipeline: LocalPipeline, session_ids: list[str], live_totals: list[SessionTotals]) -> None:
    client = pipeline.sink.client
    database = pipeline.settings.clickhouse_database
    for title, group_by in (("Cost by service and model", ("service", "model")),
                            ("Top sessions by cost", ("session_id", "user_id"))):
        result = run_report(client, CostReport(database, group_by=group_by, tenant_id=TENANT))
        console.print(cost_table(f"ClickHouse report: {title}", result.columns, result.rows, group_by, limit=10))
    console.print(_savings_table(pipeline))
    stored_total = sum(r[2] for r in run_report(client, CostReport(database, group_by=("tenant_id",))).rows)
    live_total = sum((t.total_cost for t in live_totals), Decimal(0))
    verdict = "[green]match[/]" if stored_total == live_total else "[red]differ[/]"
    console.print(f"total cost: live totals {live_total} USD, ClickHouse {stored_total} USD: {verdict}")


def _savings_table(pipeline: LocalPipeline) -> Table:
    """Insights: the savings the stored usage of this run points to (as `meterstream insights`)."""
    settings = pipeline.settings
    now = datetime.now(UTC)
    found = insights.recommendations(
        insights.client_rows(pipeline.sink.client), settings.clickhouse_database,
        Pricer(load_catalog(settings.catalog), load_tenants(settings.tenant_pricing_file)),
        Scope(TENANT, now - timedelta(days=1), now + timedelta(seconds=1)))
    table = Table(title=f"Insights: how to spend less (of {money_text(found.total_cost)} {found.currency} priced)")
    for column, justify in (("instead of", "left"), ("use", "left"), ("saving", "right"), ("trade-off", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    for r in found.recommendations[:5]:
        table.add_row(r.model, r.alternative, f"{money_text(r.saving)} {r.currency}", r.trade_off)
    return table

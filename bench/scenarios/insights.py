"""10. Cost insights: savings recommendations over a large table, and the anomaly detector's cost.

Recommendations: scenario 6's loader (`query_rows` events, 10 million at full scale: 50
tenants, the largest about a fifth, six months of 2026) on the embedded engine, then the
recommendations of the largest tenant's March (tenant-wide, and for one user), as
GET /v1/insights/recommendations computes them: one aggregating query over the stored
quantities (FINAL), priced with the catalog's rate cards. Baseline: the API's UsageReport of
the same tenant-month by service and model (FINAL).

Detector: spend items of the synthetic evaluation month (meterstream/insights/evaluate.py,
about 20,000 items, 50 per command) through the BudgetLedger with the detector, and with
`anomaly.observe` replaced by a no-op; CPU time of this thread per item, median of `runs`.
Its share of the worker is detector µs per event over the metering worker's CPU µs per event
(scenario 1's events per CPU-second).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bench.harness import BenchEnv, Result
from bench.scenarios import queries
from meterstream.budgets import commands
from meterstream.budgets import ledger as ledger_module
from meterstream.insights import anomaly, evaluate, service
from meterstream.insights.queries import Scope
from meterstream.pricing import Pricer, load_catalog
from meterstream.sinks.clickhouse import connect
from meterstream.sinks.clickhouse.usage_queries import UsageReport

TARGET_MS = 500
TENANT = "tenant-000"
MARCH = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
WORKER_EVENTS_PER_CPU_SECOND = 1_700  # scenario 1 in BENCHMARKS.md (one worker, this machine)
BATCH = 50


def _recommendation_times(client, database: str, scope: Scope, repeats: int) -> tuple[list[float], int]:
    rows, pricer = service.client_rows(client), Pricer(load_catalog())
    found = service.recommendations(rows, database, pricer, scope)  # warm, as scenario 6 does
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        found = service.recommendations(rows, database, pricer, scope)
        times.append((time.perf_counter() - started) * 1000)
    return times, len(found.recommendations)


def _ledger_cpu_per_item(items: list[dict], with_detector: bool) -> float:
    observe = anomaly.observe
    if not with_detector:
        ledger_module.anomaly.observe = lambda *args: []  # type: ignore[assignment]
    try:
        ledger = ledger_module.BudgetLedger({})
        started = time.thread_time()
        for start in range(0, len(items), BATCH):
            batch = items[start:start + BATCH]
            at = datetime.fromisoformat(batch[-1]["occurred_at"])
            ledger.apply(commands.spend(evaluate.TENANT, "bench:0", batch, at=at), 0, start)
        return (time.thread_time() - started) / len(items) * 1e6
    finally:
        ledger_module.anomaly.observe = observe  # type: ignore[assignment]


def run(env: BenchEnv) -> list[Result]:
    scale = env.scale
    settings = env.settings("insights")
    client = connect(settings.clickhouse_url)
    database = settings.clickhouse_database
    queries.load(client, database, scale.query_rows)
    (rows,), = client.query(f"SELECT count() FROM {database}.usage_events").result_rows
    (month_rows,), = client.query(
        f"SELECT count() FROM {database}.usage_events WHERE tenant_id = {{t:String}} AND toYYYYMM(occurred_at) = 202603",
        parameters={"t": TENANT}).result_rows
    report_sql, report_params = UsageReport(database, TENANT, *MARCH, group_by=("service", "model")).to_sql()
    baseline = queries.timed(client, report_sql, report_params, scale.query_repeats)
    results = []
    for label, scope in (("tenant-wide", Scope(TENANT, *MARCH)), ("one user", Scope(TENANT, *MARCH, user_id="user-7"))):
        runs, found = _recommendation_times(client, database, scope, scale.query_repeats)
        result = Result("10. Insights", f"recommendations of a tenant-month, {label} ({found} found)", "ms", runs,
                        "UsageReport of the same tenant-month (FINAL)", baseline, target=f"< {TARGET_MS} ms p50",
                        note=f"{rows:,} rows stored, {month_rows:,} in the tenant-month")
        if scale.name == "full":
            result.met = result.value < TARGET_MS
        results.append(result)

    month = evaluate.synthetic_month(7)
    items = []
    for index, (_, item) in enumerate(month.items):
        items.append({**item, "offset": index})
    if scale.name != "full":
        items = items[:2_000]
    with_runs = [_ledger_cpu_per_item(items, True) for _ in range(max(scale.runs, 3))]
    without_runs = [_ledger_cpu_per_item(items, False) for _ in range(max(scale.runs, 3))]
    detector = max(sorted(with_runs)[len(with_runs) // 2] - sorted(without_runs)[len(without_runs) // 2], 0.0)
    share = detector / (1e6 / WORKER_EVENTS_PER_CPU_SECOND) * 100
    result = Result("10. Insights", "budget ledger CPU per spend item, with the anomaly detector", "µs", with_runs,
                    "the same ledger, detector off", without_runs, target="detector < 5 % of the worker",
                    note=f"detector {detector:.1f} µs per event = {share:.2f} % of the worker's "
                         f"{1e6 / WORKER_EVENTS_PER_CPU_SECOND:.0f} µs per event; {len(items):,} items, "
                         f"{BATCH} per command")
    if scale.name == "full":
        result.met = share < 5
    results.append(result)
    return results




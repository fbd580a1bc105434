"""8. Closing a statement month over a large usage_events table on the embedded engine.

The same loader as scenario 6 (`query_rows` events, 10 million at full scale: 50 tenants, the
largest about a fifth, six months of 2026), with what statements read filled in too: each
row's line quantity and unit price (synthetic: one line per event) and its tenant-pricing
version, and `stored_at` an hour after `occurred_at`, as a sink keeping up would stamp it.

Measured: `StatementBook.close_unit` of the largest tenant's March, tenant-wide and by an
attribute (three values), with January and February already closed, so the close also runs
its check for late usage of earlier months. That is the whole close: the server's clock, the
month's aggregation per value and line (FINAL), the late-usage check, the inserts of the
frozen statements and of the marker, and the statement.closed messages (to a no-op outbox).
Between runs the frozen March is truncated away so that every run closes anew.
Baseline: the API's UsageReport of the same tenant-month by service and model (FINAL), a
plain report over the same rows.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bench.harness import BenchEnv, Result
from bench.scenarios import queries
from meterstream.sinks.clickhouse import connect
from meterstream.sinks.clickhouse.usage_queries import UsageReport
from meterstream.statements.book import StatementBook
from meterstream.statements.lease import CloseLeases
from meterstream.statements.periods import Month
from meterstream.statements.settings import StatementSettings

TARGET_MS = 1000
TENANT = "tenant-000"
MONTH = Month(2026, 3)

# Scenario 6's loader plus the columns statements read.
LOAD_SQL = queries.LOAD_SQL.replace(
    "pricing_status, attributes, source_partition, source_offset)",
    "pricing_status, attributes, source_partition, source_offset, stored_at, line_quantities, line_unit_prices,"
    " tenant_pricing)",
).replace(
    "  n AS source_offset\n",
    "  n AS source_offset,\n"
    "  addHours(occurred_at, 1) AS stored_at,\n"
    "  map(billing_unit, multiIf(u < 47, toDecimal128(input_tokens + output_tokens, 12), u < 75,"
    " toDecimal128(images, 12), u < 84, toDecimal128(video_seconds, 12), toDecimal128(characters, 12)))"
    " AS line_quantities,\n"
    "  map(billing_unit, '0.000001') AS line_unit_prices,\n"
    "  'list' AS tenant_pricing\n",
)


def close_times(book: StatementBook, attribute: str, repeats: int) -> tuple[list[float], int]:
    client, database = book.client, book.database
    for month in (Month(2026, 1), Month(2026, 2)):
        book.close_unit(TENANT, attribute, month)
    times, statements = [], 0
    for _ in range(repeats + 1):  # the first run warms the caches, as scenario 6 does
        for table in ("statements", "statement_closes"):
            client.command(f"ALTER TABLE {database}.{table} DELETE WHERE month = '{MONTH}' "
                           f"AND attribute = '{attribute}' SETTINGS mutations_sync = 1")
        started = time.perf_counter()
        statements = len(book.close_unit(TENANT, attribute, MONTH))
        times.append((time.perf_counter() - started) * 1000)
    return times[1:], statements


def run(env: BenchEnv) -> list[Result]:
    scale = env.scale
    settings = env.settings("statements")
    client = connect(settings.clickhouse_url)
    database = settings.clickhouse_database
    original = queries.LOAD_SQL
    queries.LOAD_SQL = LOAD_SQL
    try:
        queries.load(client, database, scale.query_rows)
    finally:
        queries.LOAD_SQL = original
    (rows,), = client.query(f"SELECT count() FROM {database}.usage_events").result_rows
    (month_rows,), = client.query(
        f"SELECT count() FROM {database}.usage_events WHERE tenant_id = {{t:String}} AND toYYYYMM(occurred_at) = "
        "{m:UInt32}", parameters={"t": TENANT, "m": MONTH.yyyymm}).result_rows
    book = StatementBook(client, database, StatementSettings(), CloseLeases(env.workdir / "statements.sqlite3"),
                         notify=lambda *message: True, clock=lambda: datetime(2026, 8, 1, tzinfo=UTC))
    report_sql, report_params = UsageReport(database, TENANT, MONTH.start, MONTH.end,
                                            group_by=("service", "model")).to_sql()
    baseline = queries.timed(client, report_sql, report_params, scale.query_repeats)
    results = []
    for attribute, label in (("", "tenant-wide"), ("campaign", "by attribute campaign")):
        runs, statements = close_times(book, attribute, scale.query_repeats)
        result = Result("8. Statements", f"close a tenant-month, {label} ({statements} statements)", "ms", runs,
                        "UsageReport of the same tenant-month (FINAL)", baseline, target=f"< {TARGET_MS} ms p50",
                        note=f"{rows:,} rows stored, {month_rows:,} in the tenant-month")
        if scale.name == "full":
            result.met = result.value < TARGET_MS
        results.append(result)
    return results

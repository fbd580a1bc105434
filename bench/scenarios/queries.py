"""6. Queries over a large usage_events table on the embedded engine.

A loader fills usage_events with `query_rows` events (10 million at full scale) generated
inside ClickHouse, in chunks, with a progress bar: 50 tenants (the largest holds about a
fifth), sessions of 10 events, six months, all four billing units, costs computed from the
catalog's prices. Then each report query runs `query_repeats` times. Every query reads
FINAL, as the sink's reports must (a row stored twice before a merge counts once).
Baseline: the same query without FINAL, i.e. what exactness costs on this engine.

Then the product's re-pricing of that month (`meterstream reprice --from 2026-03-01 --to
2026-04-01`, i.e. sinks/clickhouse/reprice.run_reprice), for all tenants and for the largest
tenant, with the catalog that priced the rows. March is first merged to one part, as closing a
month does, so run_reprice sums it from the table's projection; its baseline in the same run is
the same call scanning with FINAL (`projection=False`: one FINAL query summing quantities per
price-relevant group, the path before), which in turn is shown beside the hand-written
re-pricing SQL above (all tenants) and the tenant's UsageReport by service and model (one
tenant). April, left in several parts, shows that such a month is still scanned. Also the
row-by-row path (`run_reprice(..., per_row=True)`), fewer repeats: it takes seconds.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bench.harness import BenchEnv, Result
from meterstream.pricing import Pricer, load_catalog
from meterstream.sinks.clickhouse import connect, migrate
from meterstream.sinks.clickhouse.reprice import UsageFilter, run_reprice
from meterstream.sinks.clickhouse.usage_queries import SessionOperations, UsageReport, ch_time

MONTHS = 6
CHUNK = 500_000
TARGET_MS = 100

# Per-row values derived from the row number n (and the session s = n / 10), so that a
# load is reproducible. h(k) is a stable hash of the row in [0, 1).
LOAD_SQL = """
INSERT INTO {db}.usage_events
  (event_id, occurred_at, tenant_id, session_id, user_id, service, operation, provider, model, billing_unit,
   billing_mode, input_tokens, output_tokens, cached_input_tokens, thinking_tokens, images, video_seconds,
   video_with_audio, resolution, characters, voice_tier, cost, cost_lines, currency, catalog_version,
   pricing_status, attributes, source_partition, source_offset)
SELECT
  generateUUIDv4(n) AS event_id,
  addSeconds(addMonths(toDateTime64('2026-01-01 00:00:00', 6, 'UTC'), intDiv(n * {months}, {rows})),
             intDiv(n % 10000000, 10) % 2400000 + (cityHash64(n, 1) % 60)) AS occurred_at,
  concat('tenant-', leftPad(toString(toUInt32(floor(50 * pow((cityHash64(intDiv(n, 10), 2) % 100000) / 100000.0,
                                                               2.5)))), 3, '0')) AS tenant_id,
  concat('sess-', toString(intDiv(n, 10))) AS session_id,
  concat('user-', toString(intDiv(n, 10) % 5000)) AS user_id,
  multiIf(u < 47, 'text', u < 75, 'image', u < 84, 'video', 'speech') AS service,
  multiIf(u < 47, 'write_ad_copy', u < 75, 'generate_images', u < 84, 'generate_video', 'voice_over') AS operation,
  'google' AS provider,
  multiIf(u < 47, ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-2.0-flash'][1 + m % 3],
          u < 75, ['imagen-4.0-generate', 'imagen-4.0-fast-generate'][1 + m % 2],
          u < 84, ['veo-3.0-generate', 'veo-3.0-fast-generate'][1 + m % 2],
          ['cloud-tts-chirp3-hd', 'cloud-tts-standard'][1 + m % 2]) AS model,
  multiIf(u < 47, 'tokens', u < 75, 'images', u < 84, 'video', 'characters') AS billing_unit,
  'standard' AS billing_mode,
  if(u < 47, 400 + q % 5600, 0) AS input_tokens,
  if(u < 47, 150 + q % 1650, 0) AS output_tokens,
  if(u < 47 AND q % 3 = 0, intDiv(400 + q % 5600, 4), 0) AS cached_input_tokens,
  if(u < 47 AND m % 3 = 1, 200 + q % 2800, 0) AS thinking_tokens,
  if(u >= 47 AND u < 75, 1 + q % 4, 0) AS images,
  if(u >= 75 AND u < 84, toDecimal64(4 + 2 * (q % 3), 6), toDecimal64(0, 6)) AS video_seconds,
  u >= 75 AND u < 84 AND q % 5 != 0 AS video_with_audio,
  if(u >= 75 AND u < 84, '720p', '') AS resolution,
  if(u >= 84, 200 + q % 2300, 0) AS characters,
  if(u >= 84, 'chirp3-hd', '') AS voice_tier,
  {cost} AS cost,
  map(billing_unit, cost) AS cost_lines,
  'USD' AS currency,
  '{catalog}' AS catalog_version,
  'priced' AS pricing_status,
  map('campaign', concat('spring-', toString(1 + q % 3))) AS attributes,
  n % 4 AS source_partition,
  n AS source_offset
FROM (SELECT number AS n, cityHash64(n, 3) % 100 AS u, cityHash64(n, 4) AS q, cityHash64(intDiv(n, 10), 5) AS m
      FROM numbers({start}, {count}))
"""


ROW_QUANTITIES = {
    "input": "input_tokens - cached_input_tokens", "cached_input": "cached_input_tokens",
    "output": "output_tokens + thinking_tokens", "image": "images", "second": "video_seconds",
    "characters": "characters", "with_audio": "video_with_audio",
}


def price_expr(prices: dict[str, dict[str, str]], q: dict[str, str] = ROW_QUANTITIES) -> str:
    """Exact cost in Decimal128(12) from quantities (`q`: expressions naming them) and a
    {model: {component: per-unit price}} table."""

    def p(component: str) -> str:
        pairs = ", ".join(f"'{m}', toDecimal128('{prices[m][component]}', 12)" for m in prices
                          if component in prices[m])
        return f"map({pairs})[model]"  # a model without this component: 0

    return (
        f"(toDecimal128({q['input']}, 0) * {p('input')}"
        f" + toDecimal128({q['cached_input']}, 0) * {p('cached_input')}"
        f" + toDecimal128({q['output']}, 0) * {p('output')}"
        f" + toDecimal128({q['image']}, 0) * {p('image')}"
        f" + toDecimal128({q['second']}, 6) * if({q['with_audio']}, {p('second_with_audio')}, {p('second')})"
        f" + toDecimal128({q['characters']}, 0) * {p('character')})"
    )


LOADED_MODELS = (
    "gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash", "imagen-4.0-generate", "imagen-4.0-fast-generate",
    "veo-3.0-generate", "veo-3.0-fast-generate", "cloud-tts-chirp3-hd", "cloud-tts-standard",
)
PRICED_AT = datetime(2026, 3, 15, tzinfo=UTC)


def catalog_prices(scale_by: str = "1") -> dict[str, dict[str, str]]:
    """Per-unit list prices of the loaded models from the catalog (as text for SQL), optionally
    multiplied (a price change). One price table for all six months: synthetic data."""
    from decimal import Decimal

    catalog = load_catalog()
    out: dict[str, dict[str, str]] = {}
    for model in LOADED_MODELS:
        entry = catalog.entry_for(model, PRICED_AT)
        if entry is not None:
            out[model] = {c: format(price / entry.per * Decimal(scale_by), "f")
                          for c, price in entry.prices.items() if "@" not in c}
    return out


def load(client, database: str, rows: int) -> None:
    migrate(client, database)
    catalog = load_catalog().version
    # Inline the cost expression with row-level columns (the SELECT's aliases).
    cost = price_expr(catalog_prices()).replace("video_with_audio", "(u >= 75 AND u < 84 AND q % 5 != 0)")
    columns = (TextColumn("loading usage_events"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"),
               TimeRemainingColumn())
    with Progress(*columns) as progress:
        task = progress.add_task("load", total=rows)
        for start in range(0, rows, CHUNK):
            count = min(CHUNK, rows - start)
            client.command(LOAD_SQL.format(db=database, months=MONTHS, rows=rows, start=start, count=count,
                                           cost=cost, catalog=catalog))
            progress.advance(task, count)


MONTH = "occurred_at >= {start:DateTime64(6, 'UTC')} AND occurred_at < {end:DateTime64(6, 'UTC')}"


def top_sessions(database: str, tenant: str, start: str, end: str) -> tuple[str, dict]:
    """A tenant's 20 most expensive sessions of a month (no package query does this yet)."""
    return (f"SELECT session_id, any(user_id), count() AS operations, sum(cost) AS cost "
            f"FROM {database}.usage_events FINAL WHERE tenant_id = {{tenant:String}} AND {MONTH} "
            "GROUP BY session_id ORDER BY cost DESC, session_id LIMIT 20",
            {"tenant": tenant, "start": start, "end": end})


def repricing(database: str, start: str, end: str) -> tuple[str, dict]:
    """Every tenant's month under new prices (each +10%), beside what was billed. Cost is
    linear in the quantities, so they are summed per tenant, model and audio flag first and
    priced once per group: exact, and no per-row Decimal arithmetic."""
    sums = {name: f"q_{name}" for name in ROW_QUANTITIES if name != "with_audio"} | {"with_audio": "video_with_audio"}
    inner = ", ".join(f"sum({ROW_QUANTITIES[name]}) AS {alias}" for name, alias in sums.items() if name != "with_audio")
    return (f"SELECT tenant_id, model, sum(billed) AS billed, sum({price_expr(catalog_prices('1.1'), sums)}) AS repriced "
            f"FROM (SELECT tenant_id, model, video_with_audio, sum(cost) AS billed, {inner} "
            f"FROM {database}.usage_events FINAL WHERE {MONTH} GROUP BY tenant_id, model, video_with_audio) "
            "GROUP BY tenant_id, model ORDER BY tenant_id, model",
            {"start": start, "end": end})


def queries(database: str, tenant: str, session: str) -> list[tuple[str, tuple[str, dict]]]:
    """(name, (sql, params)): the API's own queries where the package has them (usage_queries)."""
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    return [
        ("session export: SessionOperations (API)", SessionOperations(database, tenant, session).to_sql()),
        ("tenant's month by service and model: UsageReport (API)",
         UsageReport(database, tenant, start, end, group_by=("service", "model")).to_sql()),
        ("top 20 sessions by cost (tenant, month)", top_sessions(database, tenant, ch_time(start), ch_time(end))),
        ("re-pricing of a month (all tenants, +10% prices)", repricing(database, ch_time(start), ch_time(end))),
    ]


def timed(client, sql: str, params: dict, repeats: int) -> list[float]:
    return timed_call(lambda: client.query(sql, parameters=params), repeats)


def timed_call(call, repeats: int) -> list[float]:
    call()  # warm: parts' marks and the query plan cached
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def timed_pair(first, second, repeats: int) -> tuple[list[float], list[float]]:
    """Two calls timed in turn, run by run: load that comes and goes on a shared machine falls on
    both alike, so their ratio holds."""
    first(), second()  # warm both
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for call, out in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            call()
            out.append((time.perf_counter() - start) * 1000)
    return times


PER_ROW_REPEATS = 3


def close_month(client, database: str, partition: str) -> float:
    """Merge a month to one part, as closing it does (OPTIMIZE … FINAL); seconds taken."""
    started = time.perf_counter()
    client.command(f"OPTIMIZE TABLE {database}.usage_events PARTITION ID '{partition}' FINAL")
    return time.perf_counter() - started


def month_parts(client, database: str, partition: str) -> int:
    (parts,), = client.query(f"SELECT count() FROM system.parts WHERE database = '{database}' "
                             f"AND table = 'usage_events' AND active AND partition_id = '{partition}'").result_rows
    return parts


def _with_label(label: str, pair: tuple[list[float], list[float]]) -> tuple[list[float], str, list[float]]:
    """Result's (runs, baseline, baseline_runs) from a timed_pair."""
    return pair[0], label, pair[1]


def repricing_results(client, database: str, tenant: str, rows: int, repeats: int, full: bool) -> list[Result]:
    """The product's re-pricing of March (run_reprice), all tenants and one, beside same-run baselines.

    March is first merged to one part, as a closed month is: run_reprice then reads it from the
    table's projection. Its baseline is the same call scanning with FINAL (projection=False, the
    path before), which keeps the hand-written SQL and the tenant's UsageReport as its own
    baselines, as in earlier runs. April (several parts, as loaded) shows the scan run_reprice
    still does for a month that is not one part."""
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    pricer = Pricer(load_catalog())
    merge_s = close_month(client, database, "202603")
    march_parts, april_parts = month_parts(client, database, "202603"), month_parts(client, database, "202604")
    hand_sql, hand_params = repricing(database, ch_time(start), ch_time(end))
    report_sql, report_params = UsageReport(database, tenant, start, end, group_by=("service", "model")).to_sql()
    baselines = {None: ("hand-written re-pricing SQL above (FINAL)", timed(client, hand_sql, hand_params, repeats)),
                 tenant: ("the tenant's month by service and model: UsageReport (FINAL)",
                          timed(client, report_sql, report_params, repeats))}
    results = [Result("6. Queries", "merging March to one part, as closing a month does (OPTIMIZE … FINAL)", "s",
                      [merge_s], "", note=f"March: {march_parts} part; April: {april_parts} parts")]
    for who, label in ((None, "all tenants"), (tenant, f"one tenant, {tenant}")):
        usage = UsageFilter(tenant_id=who, start=start, end=end)
        (month_rows,), = client.query(
            f"SELECT count() FROM {database}.usage_events FINAL{usage.where()[0]}", parameters=usage.where()[1]
        ).result_rows
        found = run_reprice(client, database, pricer, filter=usage)
        if not (found == run_reprice(client, database, pricer, filter=usage, projection=False)
                == run_reprice(client, database, pricer, filter=usage, per_row=True)):
            raise AssertionError(f"re-pricing from the projection, by scanned groups and row by row disagree ({label})")
        projected_runs, scan_runs = timed_pair(
            lambda: run_reprice(client, database, pricer, filter=usage),
            lambda: run_reprice(client, database, pricer, filter=usage, projection=False), repeats)
        projected = Result("6. Queries", f"product re-pricing of a month, {label}: run_reprice (March, one merged "
                           "part: from the projection)", "ms", projected_runs,
                           "the same call scanning with FINAL (projection=False, the path before)", scan_runs,
                           target=f"< {TARGET_MS} ms p50",
                           note=f"{rows:,} rows, {month_rows:,} in the month; min {min(projected_runs):.1f} ms "
                                f"(scan {min(scan_runs):.1f} ms); equal to the scan and row by row to the last digit")
        baseline, baseline_runs = baselines[who]
        scanned = Result("6. Queries", f"product re-pricing of a month, {label}: scanning with FINAL "
                         "(projection=False, the path before)", "ms", scan_runs, baseline, baseline_runs,
                         note=f"{rows:,} rows, {month_rows:,} in the month")
        april = UsageFilter(tenant_id=who, start=end, end=datetime(2026, 5, 1, tzinfo=UTC))
        several = Result("6. Queries", f"product re-pricing of a month, {label}: run_reprice (April, "
                         f"{april_parts} parts: scanned with FINAL)", "ms",
                         *_with_label("the same call with projection=False", timed_pair(
                             lambda: run_reprice(client, database, pricer, filter=april),
                             lambda: run_reprice(client, database, pricer, filter=april, projection=False),
                             repeats)), note=f"{rows:,} rows")
        per_row = Result("6. Queries", f"product re-pricing of a month, {label}: row by row (the path before that)",
                         "ms", timed_call(lambda: run_reprice(client, database, pricer, filter=usage, per_row=True),
                                          min(repeats, PER_ROW_REPEATS)),
                         baseline, baseline_runs, note=f"{rows:,} rows; run_reprice(per_row=True)")
        if full:
            projected.met = projected.value < TARGET_MS
        results += [projected, scanned, several, per_row]
    return results


def run(env: BenchEnv) -> list[Result]:
    scale = env.scale
    settings = env.settings("queries")
    client = connect(settings.clickhouse_url)
    database = settings.clickhouse_database
    started = time.perf_counter()
    load(client, database, scale.query_rows)
    load_s = time.perf_counter() - started
    (rows,), = client.query(f"SELECT count() FROM {database}.usage_events").result_rows
    tenant = "tenant-000"
    (session,), = client.query(
        f"SELECT session_id FROM {database}.usage_events WHERE tenant_id = {{t:String}} "
        "AND toYYYYMM(occurred_at) = 202603 ORDER BY session_id LIMIT 1", parameters={"t": tenant}).result_rows
    results = []
    full = scale.name == "full"
    for name, (sql, params) in queries(database, tenant, session):
        runs = timed(client, sql, params, scale.query_repeats)
        base = timed(client, sql.replace("usage_events FINAL", "usage_events"), params, scale.query_repeats)
        r = Result("6. Queries", name, "ms", runs, "same query without FINAL", base,
                   target=f"< {TARGET_MS} ms p50", note=f"{rows:,} rows")
        if full:
            r.met = r.value < TARGET_MS
        results.append(r)
    results += repricing_results(client, database, tenant, rows, scale.query_repeats, full)
    results.append(Result("6. Queries", "loader: rows generated and inserted per second", "rows/s",
                          [rows / load_s], "", note=f"{rows:,} rows in {load_s:.0f} s"))
    return results

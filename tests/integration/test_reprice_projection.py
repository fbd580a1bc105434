"""Re-pricing from the table's projection (months stored as one merged part) gives the lines of
the FINAL scan, to the last digit, in the real (embedded) ClickHouse engine; a month of several
parts, or one that changes while it is read, is scanned with FINAL; the migration adds the
projection to a table that existed before it.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterstream.cli import build_parser
from meterstream.pricing import Pricer, load_catalog
from meterstream.pricing.groups import price_shape
from meterstream.pricing.plan import OPEN_END
from meterstream.schemas import Service, TokenUsage, UsageEvent, VideoUsage
from meterstream.sinks.clickhouse import connect, migrate
from meterstream.sinks.clickhouse.migrations import bootstrap_statements, migration_statements
from meterstream.sinks.clickhouse.reprice import (
    ProjectedGroupsQuery,
    UsageFilter,
    month_of,
    projection_spans,
    run_reprice,
)
from meterstream.settings import Settings
from meterstream.sinks.clickhouse.rows import COLUMNS, to_row
from tests.conftest import unique_name
from tests.integration.test_reprice_grouped import PRICER, SWAPS, as_text, usage_event

pytestmark = pytest.mark.integration

SHAPE = price_shape(PRICER, OPEN_END)
MARCH = UsageFilter(start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 4, 1, tzinfo=UTC))


def march_events(count: int) -> list[UsageEvent]:
    """Text and video usage spread over March 2026, a few tenants and models."""
    events = []
    for i in range(count):
        at = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=7 * i, minutes=i % 60)
        if i % 3:
            usage, service, model = (TokenUsage(input_tokens=1_000 + 997 * i, output_tokens=300 + i,
                                                cached_input_tokens=(i % 4) * 100), Service.TEXT,
                                     ["gemini-2.5-pro", "gemini-2.5-flash"][i % 2])
        else:
            usage, service, model = (VideoUsage(seconds=4 + i % 5, with_audio=i % 2 == 0), Service.VIDEO,
                                     "veo-3.0-generate")
        events.append(UsageEvent(tenant_id=["acme", "beta", "vip"][i % 3], session_id=f"s{i % 7}", service=service,
                                 model=model, usage=usage, occurred_at=at))
    return events


@pytest.fixture(scope="module")
def client(clickhouse_dsn):
    return connect(clickhouse_dsn)


@pytest.fixture
def database(client):
    name = unique_name("projected")
    migrate(client, name)
    return name


def store(client, database: str, rows: list) -> None:
    """One insert: one new part per month it touches."""
    if rows:
        client.insert(f"{database}.usage_events", rows, column_names=COLUMNS)


def merge(client, database: str) -> None:
    """Every month to one merged part, as a closed month is (OPTIMIZE … FINAL)."""
    client.command(f"OPTIMIZE TABLE {database}.usage_events FINAL")


def parts(client, database: str) -> dict[str, int]:
    return dict(client.query(f"SELECT partition_id, count() FROM system.parts WHERE database = '{database}' "
                             "AND table = 'usage_events' AND active GROUP BY partition_id").result_rows)


def both_paths(client, database: str, usage: UsageFilter = UsageFilter(), **options):
    grouped = run_reprice(client, database, PRICER, filter=usage, **options)
    per_row = run_reprice(client, database, PRICER, filter=usage, per_row=True, **options)
    return grouped, per_row


def read_from_projection(client, database: str, usage: UsageFilter) -> bool:
    """Whether re-pricing reads `usage` from the projection: the spans it would read there, read
    with the engine told to fail unless the projection answers."""
    spans = projection_spans(usage, SHAPE, [month_of(p) for p, n in parts(client, database).items() if n == 1])
    if not spans:
        return False
    sql, params = ProjectedGroupsQuery(database, SHAPE, spans).to_sql()
    client.query(sql, parameters=params, settings={"force_optimize_projection": 1})
    return True


def test_a_month_of_one_merged_part_is_read_from_the_projection_with_the_same_lines(client, database):
    store(client, database, [to_row(PRICER.price(e)) for e in march_events(60)])
    merge(client, database)
    assert read_from_projection(client, database, MARCH)
    grouped, per_row = both_paths(client, database, MARCH)
    assert grouped == per_row == run_reprice(client, database, PRICER, filter=MARCH, projection=False)
    assert as_text(grouped) == as_text(per_row)
    assert sum(line.operations for line in grouped.lines) == 60


def test_a_month_of_several_parts_is_scanned_with_the_same_lines(client, database):
    rows = [to_row(PRICER.price(e)) for e in march_events(60)]
    store(client, database, rows[:30])
    store(client, database, rows[30:])
    assert parts(client, database) == {"202603": 2}
    assert not read_from_projection(client, database, MARCH)
    grouped, per_row = both_paths(client, database, MARCH)
    assert grouped == per_row
    assert sum(line.operations for line in grouped.lines) == 60


def test_an_event_stored_again_after_the_merge_counts_once(client, database):
    rows = [to_row(PRICER.price(e)) for e in march_events(60)]
    store(client, database, rows)
    merge(client, database)
    before = run_reprice(client, database, PRICER, filter=MARCH)
    store(client, database, rows[5:6])  # the sink re-sent one event: same event id, a second part
    assert parts(client, database) == {"202603": 2}
    grouped, per_row = both_paths(client, database, MARCH)
    assert grouped == per_row == before


class InsertsAfterTheProjectedRead:
    """The real client, with a real insert (a copy of an event) landing right after re-pricing
    reads the projection: what the sink can do at any instant."""

    def __init__(self, client, database: str, row: list) -> None:
        self.client, self.database, self.row, self.done = client, database, row, False

    def query(self, sql: str, **options):
        result = self.client.query(sql, **options)
        if not self.done and "toStartOfHour(occurred_at) >=" in sql:
            self.done = True
            store(self.client, self.database, [self.row])
        return result


def test_a_month_that_changes_while_its_projection_is_read_is_read_again_with_final(client, database):
    rows = [to_row(PRICER.price(e)) for e in march_events(60)]
    store(client, database, rows)
    merge(client, database)
    before = run_reprice(client, database, PRICER, filter=MARCH)
    racing = InsertsAfterTheProjectedRead(client, database, rows[7])
    assert run_reprice(racing, database, PRICER, filter=MARCH) == before  # type: ignore[arg-type]
    assert racing.done and parts(client, database) == {"202603": 2}


def test_a_range_off_the_hour_prices_its_partial_hours_by_scanning(client, database):
    store(client, database, [to_row(PRICER.price(e)) for e in march_events(60)])
    merge(client, database)
    usage = UsageFilter(start=datetime(2026, 3, 2, 3, 30, tzinfo=UTC), end=datetime(2026, 3, 20, 7, 59, tzinfo=UTC))
    assert read_from_projection(client, database, usage)
    grouped, per_row = both_paths(client, database, usage)
    assert grouped == per_row
    assert 0 < sum(line.operations for line in grouped.lines) < 60


def test_the_migration_adds_the_projection_to_a_table_stored_before_it(client):
    database = unique_name("premigration")
    for sql in bootstrap_statements(database):
        client.command(sql)
    for version, statements in migration_statements(database):
        if version <= 8:  # the schema before the projection
            for sql in statements:
                client.command(sql)
            client.insert(f"{database}.schema_migrations", [[version]], column_names=["version"])
    store(client, database, [to_row(PRICER.price(e)) for e in march_events(60)])
    merge(client, database)
    assert not read_from_projection_or_none(client, database)
    assert migrate(client, database) == [9, 10, 11]
    wait_for_mutations(client, database)
    projected, = client.query(f"SELECT count() FROM system.projection_parts WHERE database = '{database}' "
                              "AND table = 'usage_events' AND name = 'reprice_groups' AND active").result_rows[0]
    assert projected == sum(parts(client, database).values()) == 1
    assert read_from_projection(client, database, MARCH)
    grouped, per_row = both_paths(client, database, MARCH)
    assert grouped == per_row


def read_from_projection_or_none(client, database: str) -> bool:
    try:
        return read_from_projection(client, database, MARCH)
    except Exception as error:  # noqa: BLE001 - the engine refuses: no projection to read
        assert "PROJECTION" in str(error).upper()
        return False


def wait_for_mutations(client, database: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while client.query(f"SELECT count() FROM system.mutations WHERE database = '{database}' "
                       "AND table = 'usage_events' AND NOT is_done").result_rows[0][0]:
        assert time.monotonic() < deadline, "MATERIALIZE PROJECTION did not finish"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def shared(client):
    name = unique_name("projected_prop")
    migrate(client, name)
    return name


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(usage_event(), min_size=10, max_size=60),
       twice_later=st.lists(st.integers(0, 1_000), max_size=4),
       merged=st.booleans(),
       swap=st.sampled_from(SWAPS),
       tenant=st.sampled_from([None, None, "acme", "odd"]),
       window=st.sampled_from([(None, None), (datetime(2025, 8, 10, tzinfo=UTC), datetime(2025, 9, 20, tzinfo=UTC)),
                               (datetime(2025, 8, 14, 4, 30, tzinfo=UTC), datetime(2025, 9, 9, 0, 0, 1, tzinfo=UTC)),
                               (datetime(2025, 9, 1, tzinfo=UTC), datetime(2025, 10, 1, tzinfo=UTC))]),
       as_of=st.sampled_from([None, None, datetime(2025, 8, 20, tzinfo=UTC)]))
def test_re_pricing_with_merged_months_equals_the_row_by_row_result_to_the_last_digit(
        client, shared, events, twice_later, merged, swap, tenant, window, as_of):
    client.command(f"TRUNCATE TABLE {shared}.usage_events")
    rows = [to_row(PRICER.price(event)) for event in events]
    store(client, shared, rows)
    if merged:
        merge(client, shared)
    store(client, shared, [rows[i % len(rows)] for i in twice_later])  # copies in new parts: FINAL's case
    grouped, per_row = both_paths(client, shared, UsageFilter(tenant_id=tenant, start=window[0], end=window[1]),
                                  swap=swap, as_of=as_of)
    assert grouped == per_row
    assert as_text(grouped) == as_text(per_row)



def test_the_reprice_command_merges_whole_months_first_when_asked(client, clickhouse_dsn, database, capsys, tmp_path):
    rows = [to_row(PRICER.price(e)) for e in march_events(60)]
    store(client, database, rows[:30])
    store(client, database, rows[30:])
    expected = run_reprice(client, database, Pricer(load_catalog()), filter=MARCH)  # the command's own pricer
    settings = Settings(data_dir=tmp_path, clickhouse_dsn=clickhouse_dsn, clickhouse_database=database)
    args = build_parser().parse_args(["reprice", "--from", "2026-03-01", "--to", "2026-04-01", "--merge-months",
                                      "--json"])
    assert args.handler(args, settings) == 0
    assert parts(client, database) == {"202603": 1}
    assert read_from_projection(client, database, MARCH)
    lines = json.loads(capsys.readouterr().out)["lines"]
    assert [(line["model"], line["operations"], line["repriced_cost"]) for line in lines] == [
        (line.model, line.operations, f"{line.repriced_cost:f}") for line in expected.lines]

from datetime import UTC, datetime

from meterstream.pricing import load_catalog, price_event
from meterstream.schemas import ImageUsage, Service, UsageEvent
from meterstream.sinks.base import SinkRecord
from meterstream.sinks.clickhouse import ClickHouseSink, connect, migrate
from meterstream.sinks.clickhouse.migrations import MIGRATIONS, bootstrap_statements, migration_statements
from tests.conftest import unique_name


def records(n: int, partition: int = 0, first_offset: int = 0) -> list[SinkRecord]:
    catalog = load_catalog()
    return [
        SinkRecord(price_event(catalog, UsageEvent(
            tenant_id="acme", session_id=f"s{i % 3}", service=Service.IMAGE, model="imagen-4.0-generate",
            occurred_at=datetime(2026, 5, 1, tzinfo=UTC), usage=ImageUsage(images=1))), partition, first_offset + i)
        for i in range(n)
    ]


def new_sink(dsn: str) -> ClickHouseSink:
    return ClickHouseSink(connect(dsn), unique_name("db"))


def test_migrations_are_idempotent(clickhouse_dsn):
    client, database = connect(clickhouse_dsn), unique_name("db")
    assert migrate(client, database) == [version for version, _ in MIGRATIONS]
    assert migrate(client, database) == []


def test_the_cluster_ddl_parses_on_the_real_engine(clickhouse_dsn):
    # No cluster runs here; the engine's own parser (formatQuery) still checks every statement.
    client = connect(clickhouse_dsn)
    statements = bootstrap_statements("ms", "metering") + [
        sql for _, batch in migration_statements("ms", "metering") for sql in batch]
    for sql in statements:
        formatted = client.query("SELECT formatQuery({sql:String})", parameters={"sql": sql}).result_rows[0][0]
        assert formatted.startswith(("CREATE", "ALTER")) and "ON CLUSTER metering" in formatted


def test_a_batch_written_twice_with_the_same_id_is_stored_once(clickhouse_dsn):
    sink = new_sink(clickhouse_dsn)
    batch = records(10)
    sink.write(batch, "usage.priced:0:0-9")
    sink.write(batch, "usage.priced:0:0-9")
    assert sink.client.query(f"SELECT count() FROM {sink.table}").result_rows == [(10,)]


def test_a_record_stored_again_in_another_batch_is_counted_once_by_final_queries(clickhouse_dsn):
    sink = new_sink(clickhouse_dsn)
    batch = records(4)
    sink.write(batch, "usage.priced:0:0-3")
    sink.write(batch[2:], "usage.priced:0:2-3")  # a replay that started mid-batch
    (count, cost), = sink.client.query(f"SELECT count(), sum(cost) FROM {sink.table} FINAL").result_rows
    assert (count, str(cost)) == (4, "0.160000000000")


def test_costs_keep_every_decimal_digit(clickhouse_dsn):
    sink = new_sink(clickhouse_dsn)
    record = records(1)[0]
    sink.write([record], "b")
    (cost, lines), = sink.client.query(f"SELECT cost, cost_lines FROM {sink.table}").result_rows
    assert cost == record.priced.total_cost
    assert lines == {"image": record.priced.total_cost}


def test_stored_offsets_are_the_highest_offset_written_per_partition(clickhouse_dsn):
    sink = new_sink(clickhouse_dsn)
    assert sink.stored_offsets() == {}
    sink.write(records(5, partition=0, first_offset=10), "a")
    sink.write(records(3, partition=2, first_offset=0), "b")
    sink.write(records(2, partition=0, first_offset=15), "c")
    assert sink.stored_offsets() == {0: 16, 2: 2}


def test_already_stored_names_exactly_the_stored_event_ids(clickhouse_dsn):
    sink = new_sink(clickhouse_dsn)
    batch = records(6)
    sink.write(batch[:4], "a")
    assert sink.already_stored(batch[2:]) == {r.priced.event.event_id for r in batch[2:4]}


def test_the_sinks_column_types_match_the_migrated_table(clickhouse_dsn):
    from meterstream.sinks.clickhouse.rows import COLUMN_TYPES

    database = unique_name("db")
    client = connect(clickhouse_dsn)
    migrate(client, database)
    described = client.query(f"DESCRIBE TABLE {database}.usage_events").result_rows
    stored = [(name, type_name) for name, type_name, *_ in described if name != "stored_at"]
    assert stored == list(COLUMN_TYPES)

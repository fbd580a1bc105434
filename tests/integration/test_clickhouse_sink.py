from datetime import UTC, datetime

from meterstream.pricing import load_catalog, price_event
from meterstream.schemas import ImageUsage, Service, UsageEvent
from meterstream.sinks.clickhouse import ClickHouseSink, connect, migrate
from tests.conftest import unique_name


def priced_images(n: int):
    catalog = load_catalog()
    return [
        price_event(catalog, UsageEvent(tenant_id="acme", session_id=f"s{i % 3}", service=Service.IMAGE,
                                        model="imagen-4.0-generate", occurred_at=datetime(2026, 5, 1, tzinfo=UTC),
                                        usage=ImageUsage(images=1)))
        for i in range(n)
    ]


def test_migrations_are_idempotent(clickhouse_dsn):
    client, database = connect(clickhouse_dsn), unique_name("db")
    assert migrate(client, database) == [1]
    assert migrate(client, database) == []


def test_a_batch_written_twice_with_the_same_id_is_stored_once(clickhouse_dsn):
    database = unique_name("db")
    sink = ClickHouseSink(connect(clickhouse_dsn), database)
    records = priced_images(10)
    sink.write(records, "usage.priced:0:0-9")
    sink.write(records, "usage.priced:0:0-9")
    assert sink.client.query(f"SELECT count() FROM {database}.usage_events").result_rows == [(10,)]


def test_a_record_stored_again_in_another_batch_is_counted_once_by_final_queries(clickhouse_dsn):
    database = unique_name("db")
    sink = ClickHouseSink(connect(clickhouse_dsn), database)
    records = priced_images(4)
    sink.write(records, "usage.priced:0:0-3")
    sink.write(records[2:], "usage.priced:0:2-3")  # a replay that started mid-batch
    (count, cost), = sink.client.query(f"SELECT count(), sum(cost) FROM {database}.usage_events FINAL").result_rows
    assert (count, str(cost)) == (4, "0.160000000000")


def test_costs_keep_every_decimal_digit(clickhouse_dsn):
    database = unique_name("db")
    sink = ClickHouseSink(connect(clickhouse_dsn), database)
    record = priced_images(1)[0]
    sink.write([record], "b")
    (cost, lines), = sink.client.query(f"SELECT cost, cost_lines FROM {database}.usage_events").result_rows
    assert cost == record.total_cost
    assert lines == {"image": record.total_cost}

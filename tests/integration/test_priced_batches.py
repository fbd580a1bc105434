"""The sink reading usage.priced in the worker's batch form: real broker, embedded ClickHouse.

Each record is stored by its own identity (event_id, source position), whichever message
carried it and however often that message arrives.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from confluent_kafka import Producer

from meterstream.devstack import ensure_topics
from meterstream.devstack.pipeline import SinkThread
from meterstream.pricing import Pricer, load_catalog
from meterstream.producers.workload import studio_workload
from meterstream.schemas import PricedUsage, SourcePosition
from meterstream.schemas.priced_batch import encode_priced
from meterstream.settings import Settings
from meterstream.sinks.clickhouse import ClickHouseSink, connect
from meterstream.sinks.runner import SinkRunner
from tests.conftest import unique_name

# Every stored column but where the row sat in usage.priced (and when it was stored).
ROW = ("event_id, occurred_at, tenant_id, session_id, user_id, service, model, billing_unit, input_tokens, "
       "output_tokens, images, video_seconds, characters, cost, cost_lines, currency, catalog_version, "
       "pricing_status, unpriced_reason, attributes, source_partition, source_offset, line_quantities, "
       "line_unit_prices, tenant_pricing")


def priced_records(n: int, replayed: bool = False) -> list[PricedUsage]:
    pricer = Pricer(load_catalog())
    start = datetime.now(UTC) - timedelta(hours=1)
    return [pricer.price(event).model_copy(update={
        "source": SourcePosition(topic="usage.events", partition=i % 3, offset=i), "replayed": replayed})
        for i, event in enumerate(studio_workload(n, sessions=7, tenant_id="acme", start=start))]


def settings_of(pipeline_settings: Settings) -> Settings:
    """A topic, group and database of their own, beside the test's other settings."""
    name = unique_name("pb")
    return pipeline_settings.model_copy(update={
        "topic_priced": f"{name}.usage.priced", "sink_group": f"sink-{name}", "clickhouse_database": name})


def produce(settings: Settings, messages: list[tuple[bytes, bytes]]) -> None:
    producer = Producer(settings.kafka_producer_config())
    for key, value in messages:
        producer.produce(settings.topic_priced, key=key, value=value)
    assert producer.flush(30) == 0


def as_batches(records: list[PricedUsage], max_bytes: int = 64 * 1024) -> list[tuple[bytes, bytes]]:
    return [(records[0].event.session_id.encode(), value) for value in encode_priced(records, max_bytes)]


def as_singles(records: list[PricedUsage]) -> list[tuple[bytes, bytes]]:
    return [(r.event.session_id.encode(), r.model_dump_json().encode()) for r in records]


def sink_until(runner: SinkRunner, read: int, quiet: float = 2.0, timeout: float = 60.0) -> None:
    """Step the sink until it has read `read` records (stored or skipped as stored) and then
    `quiet` seconds pass with nothing more to read (so a record stored twice would show)."""
    deadline, last_change = time.monotonic() + timeout, time.monotonic()
    while time.monotonic() < deadline:
        if runner.step():
            last_change = time.monotonic()
        elif (runner.counts.stored + runner.counts.skipped_as_stored >= read
              and time.monotonic() - last_change > quiet):
            return
    raise AssertionError(f"the sink read {runner.counts.stored + runner.counts.skipped_as_stored} of {read} "
                         f"records within {timeout}s")


def stored_rows(settings: Settings, clickhouse_dsn: str) -> list[tuple]:
    client = connect(clickhouse_dsn)
    return client.query(f"SELECT {ROW} FROM {settings.clickhouse_database}.usage_events ORDER BY event_id").result_rows


def new_runner(settings: Settings, clickhouse_dsn: str) -> SinkRunner:
    return SinkRunner(settings, ClickHouseSink(connect(clickhouse_dsn), settings.clickhouse_database))


def test_the_sink_stores_the_same_rows_from_batch_messages_as_from_single_records(pipeline_settings, clickhouse_dsn):
    records = priced_records(300)
    singles, batches = settings_of(pipeline_settings), settings_of(pipeline_settings)
    for settings, messages in ((singles, as_singles(records)), (batches, as_batches(records))):
        ensure_topics(settings)
        produce(settings, messages)
        runner = new_runner(settings, clickhouse_dsn)
        try:
            sink_until(runner, len(records))
        finally:
            runner._consumer.close()
    assert len(as_batches(records)) > 1  # several batch messages, not one
    from_singles = stored_rows(singles, clickhouse_dsn)
    assert len(from_singles) == len(records)
    assert stored_rows(batches, clickhouse_dsn) == from_singles


def test_a_batch_message_delivered_again_stores_nothing_twice(pipeline_settings, clickhouse_dsn):
    settings = settings_of(pipeline_settings)
    ensure_topics(settings)
    records = priced_records(200)
    produce(settings, as_batches(records))
    # The sink inserts the batch, then dies before it commits: the next sink reads it all again.
    first = new_runner(settings, clickhouse_dsn)
    collected = []
    while sum(len(r) for _, r in collected) < len(records):
        collected += first._collect()
    first._write(first._new_records(collected[0][0].partition(), collected), "first attempt")
    first._consumer.close()
    # The worker, replaying after a crash, sends the same records again in new messages.
    produce(settings, as_batches(priced_records(200, replayed=True), max_bytes=32 * 1024))

    again = new_runner(settings, clickhouse_dsn)
    try:
        sink_until(again, len(records))
    finally:
        again._consumer.close()
    client = connect(clickhouse_dsn)
    table = f"{settings.clickhouse_database}.usage_events"
    (rows, ids), = client.query(f"SELECT count(), uniqExact(event_id) FROM {table}").result_rows  # no FINAL
    assert rows == ids == len(records)
    assert again.counts.stored == 0


def test_a_sink_thread_stores_what_a_batch_message_carries(pipeline_settings, clickhouse_dsn):
    settings = settings_of(pipeline_settings)
    ensure_topics(settings)
    records = priced_records(50)
    produce(settings, as_batches(records[:20]) + as_singles(records[20:]))  # both forms on one topic
    sink = SinkThread(settings)
    sink.start()
    try:
        assert sink.wait_stored(len(records), timeout=60)
    finally:
        sink.stop()
    assert {row[0] for row in stored_rows(settings, clickhouse_dsn)} == {r.event.event_id for r in records}

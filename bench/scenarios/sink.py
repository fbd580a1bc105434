"""5. Sink: rows per second into ClickHouse through the sink, from usage.priced.

`through the sink` is the whole SinkRunner: consume usage.priced, decode each PricedUsage,
build rows, insert (with the batch's de-duplication token), commit offsets. `write()
alone` starts from decoded records. Baseline: a bare clickhouse-connect column-oriented
insert of the same rows, already pivoted into columns, through one reused insert context,
in batches of the sink's batch size: the engine's insert limit through this client.
"""

from __future__ import annotations

import time

from bench.data import EventFactory
from bench.harness import BenchEnv, Result
from bench.pipeline import preload
from meterstream.pricing import load_catalog, price_event
from meterstream.schemas import PricedUsage, SourcePosition
from meterstream.settings import Settings
from meterstream.sinks.clickhouse import ClickHouseSink, connect, migrate
from meterstream.sinks.base import SinkRecord
from meterstream.sinks.clickhouse.rows import COLUMNS, to_row
from meterstream.sinks.runner import SinkRunner


def priced_records(count: int, topic: str) -> list[PricedUsage]:
    catalog = load_catalog()
    factory = EventFactory(5000, prefix="sink")
    return [
        price_event(catalog, factory.next_model()).model_copy(
            update={"source": SourcePosition(topic=topic, partition=0, offset=n)})
        for n in range(count)
    ]


def through_sink(settings: Settings, count: int) -> float:
    client = connect(settings.clickhouse_url)
    runner = SinkRunner(settings, ClickHouseSink(client, settings.clickhouse_database))
    try:
        start = None
        while runner.counts.stored < count:
            if runner.step() and start is None:
                start = time.perf_counter()  # from the first batch stored: group join excluded
                first = runner.counts.stored
        elapsed = time.perf_counter() - start
    finally:
        runner._consumer.close()
    return (count - first) / elapsed


def write_only(settings: Settings, records: list[PricedUsage]) -> float:
    sink = ClickHouseSink(connect(settings.clickhouse_url), settings.clickhouse_database)
    size = settings.sink_batch_size
    records = [SinkRecord(record, 0, n) for n, record in enumerate(records)]
    start = time.perf_counter()
    for n in range(0, len(records), size):
        sink.write(records[n:n + size], f"bench:0:{n}-{n + size - 1}")
    return len(records) / (time.perf_counter() - start)


def bare_insert(settings: Settings, records: list[PricedUsage]) -> float:
    client = connect(settings.clickhouse_url)
    migrate(client, settings.clickhouse_database)
    size = settings.sink_batch_size
    batches = []
    for n in range(0, len(records), size):
        rows = [to_row(record, 0, n + i) for i, record in enumerate(records[n:n + size])]
        batches.append([list(column) for column in zip(*rows)])
    context = client.create_insert_context(f"{settings.clickhouse_database}.usage_events", COLUMNS,
                                           column_oriented=True)
    start = time.perf_counter()
    for columns in batches:
        context.data = columns
        client.insert(context=context)
    return len(records) / (time.perf_counter() - start)


def run(env: BenchEnv) -> list[Result]:
    scale = env.scale
    topic = env.settings("sink")
    records = priced_records(scale.sink_rows, topic.topic_events)
    preload(topic, ((r.event.session_id.encode(), r.model_dump_json().encode()) for r in records),
            topic=topic.topic_priced)
    sink, write, bare = [], [], []
    for n in range(scale.runs):
        run_settings = env.settings(f"sink{n}", topic_priced=topic.topic_priced)
        bare.append(bare_insert(env.settings(f"bare{n}"), records))
        write.append(write_only(env.settings(f"write{n}"), records))
        sink.append(through_sink(run_settings, len(records)))
    base = "bare column-oriented insert, same rows"
    return [
        Result("5. Sink", "through the sink: consume, decode, insert, commit", "rows/s", sink, base, bare),
        Result("5. Sink", "ClickHouseSink.write() alone, decoded records", "rows/s", write, base, bare),
    ]

"""Exact live totals whatever the producer's partitioning: a plain confluent-kafka producer
(its default partitioner is CRC32, not murmur2) sending keyed, unkeyed and explicitly
partitioned messages, duplicates on other partitions, and the partition count raised
while events flow."""

from __future__ import annotations

import random
import time

from confluent_kafka import Producer

from meterstream.devstack.pipeline import LocalPipeline
from meterstream.devstack.topics import scale_topics
from meterstream.producers.workload import studio_workload
from meterstream.reconcile import reconcile
from meterstream.schemas import UsageEvent
from tests.expectations import MALFORMED, expectations
from tests.integration.test_spine import wait_until


def send(producer: Producer, topic: str, event: UsageEvent | bytes, how: str, partitions: int, rng: random.Random):
    value = event if isinstance(event, bytes) else event.model_dump_json().encode()
    if how == "keyed":  # by session, but placed by librdkafka's CRC32, not by murmur2
        producer.produce(topic, value, key=event.session_id.encode())
    elif how == "unkeyed":
        producer.produce(topic, value)
    elif how == "other key":
        producer.produce(topic, value, key=f"user-{rng.randrange(7)}".encode())
    else:
        producer.produce(topic, value, partition=rng.randrange(partitions))
    producer.poll(0)


def assert_exact(pipeline: LocalPipeline, events: list[UsageEvent], messages: int) -> None:
    wait_until(lambda: sum(pipeline.worker.counts().values()) >= messages, 120, "every message metered")
    for session_id, want in expectations(events).items():
        totals = pipeline.worker.session_totals(session_id)
        assert (totals.total_cost, totals.operations) == (want.cost, want.operations), session_id
        assert (totals.images, totals.video_seconds, totals.characters) == (want.images, want.video_seconds,
                                                                            want.characters)
    unique = len({e.event_id for e in events})
    assert pipeline.sink.wait_stored(unique, timeout=90)
    report = reconcile(pipeline.settings, pipeline.sink.client)
    assert report.consistent, report.differences


def test_a_plain_producer_with_any_partitioning_is_metered_exactly(pipeline: LocalPipeline):
    settings, rng = pipeline.settings, random.Random(11)
    events = list(studio_workload(800, sessions=25, tenant_id="acme-creative"))
    resent = rng.sample(events, 80)  # the same event ids again, on whatever partition
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    ways = ["keyed", "unkeyed", "other key", "partition"]
    for event in events + resent:
        send(producer, settings.topic_events, event, rng.choice(ways), settings.topic_partitions, rng)
    for payload in MALFORMED:
        send(producer, settings.topic_events, payload, "unkeyed", settings.topic_partitions, rng)
    assert producer.flush(30) == 0
    assert_exact(pipeline, events + resent, len(events) + len(resent) + len(MALFORMED))
    assert pipeline.worker.counts()["duplicate"] == len(resent)


def test_raising_the_partition_count_while_events_flow_loses_and_doubles_nothing(pipeline: LocalPipeline):
    settings, rng = pipeline.settings, random.Random(12)
    events = list(studio_workload(900, sessions=30, tenant_id="acme-creative"))
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "topic.metadata.refresh.interval.ms": 1000})
    partitions = settings.topic_partitions
    for n, event in enumerate(events):
        if n == len(events) // 3:
            scale_topics(settings, 8)
            partitions = 8
            wait_until(lambda: len(producer.list_topics(settings.topic_events, timeout=10)
                                   .topics[settings.topic_events].partitions) == 8, 30, "the producer to see 8 partitions")
        how = "partition" if n % 2 else "keyed"
        send(producer, settings.topic_events, event, how, partitions, rng)
        if n % 100 == 0:
            time.sleep(0.5)  # let some of it be metered before and after the change
    assert producer.flush(30) == 0
    assert_exact(pipeline, events, len(events))

"""Exact live totals whatever the producer's partitioning: a plain confluent-kafka producer
(its default partitioner is CRC32, not murmur2) sending keyed, unkeyed and explicitly
partitioned messages, duplicates on other partitions, and the partition count raised
while events flow."""

from __future__ import annotations

import random
import time

import orjson
from confluent_kafka import Producer

from meterstream.devstack.pipeline import LocalPipeline
from meterstream.devstack.topics import scale_topics
from meterstream.producers.workload import studio_workload
from meterstream.reconcile import reconcile
from meterstream.schemas import UsageEvent
from meterstream.schemas.envelope import encode_envelope
from tests.expectations import MALFORMED, expectations
from tests.integration.dlq import read_dead_letters
from tests.integration.test_spine import wait_until


def send(producer: Producer, topic: str, event: UsageEvent | bytes, how: str, partitions: int, rng: random.Random,
         value: bytes | None = None):
    """`event` (or `value`, an envelope beginning with `event`) the way `how` says."""
    value = value or (event if isinstance(event, bytes) else event.model_dump_json().encode())
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


def test_envelopes_from_a_plain_producer_are_metered_exactly_a_bad_event_dead_lettered_alone(
        pipeline: LocalPipeline):
    settings, rng = pipeline.settings, random.Random(13)
    events = list(studio_workload(700, sessions=25, tenant_id="acme-creative"))
    resent = rng.sample(events, 60)  # again inside later envelopes, among other events
    plan, envelopes = events + resent, []
    while plan:
        size = rng.randint(1, 40)
        envelopes.append(plan[:size])
        plan = plan[size:]
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    ways = ["keyed", "unkeyed", "other key", "partition"]

    def send_envelope(batch: list[UsageEvent], value: bytes | None = None) -> None:
        value = value or encode_envelope([event.model_dump_json().encode() for event in batch])
        send(producer, settings.topic_events, batch[0], rng.choice(ways), settings.topic_partitions, rng, value)

    for batch in envelopes:
        send_envelope(batch)
    send_envelope(envelopes[0])  # the same envelope re-sent: every event in it a duplicate
    bad = MALFORMED[2]  # valid JSON, an invalid event
    with_bad = [events[0], events[1]]
    send_envelope(with_bad, encode_envelope([with_bad[0].model_dump_json().encode(), bad,
                                             with_bad[1].model_dump_json().encode()]))
    malformed = b'{"meterstream_batch": 7, "events": [{}]}'
    producer.produce(settings.topic_events, malformed)
    assert producer.flush(30) == 0

    sent = events + resent + envelopes[0] + with_bad
    assert_exact(pipeline, sent, len(sent) + 2)
    assert pipeline.worker.counts()["duplicate"] == len(sent) - len(events)
    dead = {record.value: record for record in read_dead_letters(settings)}
    compact = orjson.dumps(orjson.loads(bad))  # the event's JSON as in the envelope, re-encoded compactly
    assert set(dead) == {compact, malformed}
    assert dead[malformed].index is None and "version 7" in dead[malformed].reason
    in_envelope = dead[compact]
    assert in_envelope.index == 1 and "invalid usage event" in in_envelope.reason
    assert in_envelope.source.startswith(f"{settings.topic_events}[")


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

"""The API's usage publisher on the real broker: a publish answers only once Kafka has each
event, concurrent publishes each get their own answers, and a broker that does not take an
event yields its error, never an acknowledgement (the route answers 503, not 202)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition

from meterstream.api.publisher import UsagePublisher
from meterstream.devstack import KafkaBroker, ensure_topics, free_port, isolated_settings
from meterstream.partitioning import murmur2_partition
from meterstream.schemas import UsageEvent
from meterstream.schemas.envelope import decode_envelope
from meterstream.settings import Settings
from tests.conftest import eventually, unique_name

pytestmark = pytest.mark.integration


def event(n: int) -> UsageEvent:
    return UsageEvent(tenant_id="acme", session_id=f"s{n % 7}", service="text", model="gemini-2.5-flash",
                      usage={"unit": "tokens", "input_tokens": 10 + n})


def stored_messages(settings: Settings) -> list[tuple[int, bytes]]:
    """(partition, value) of every message on the events topic now: everything below each
    partition's high watermark."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": unique_name("read"),
                         "enable.auto.commit": False})
    try:
        topic = settings.topic_events
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
                for p in partitions}
        consumer.assign([TopicPartition(topic, p, 0) for p, end in ends.items() if end > 0])
        messages: list[tuple[int, bytes]] = []
        while len(messages) < sum(ends.values()):
            message = consumer.poll(10)
            assert message is not None, "the topic holds fewer messages than its watermarks say"
            if message.error() is None and message.offset() < ends[message.partition()]:
                messages.append((message.partition(), message.value()))
        return messages
    finally:
        consumer.close()


def events_of(value: bytes) -> list[dict]:
    return [orjson.loads(item) for item in decode_envelope(value) or [value]]


def stored_ids(settings: Settings) -> set[str]:
    return {event["event_id"] for _, value in stored_messages(settings) for event in events_of(value)}


def leaders_ready(settings: Settings) -> bool:
    """A topic created a moment ago answers NOT_LEADER for a while."""
    try:
        stored_ids(settings)
    except KafkaException:
        return False
    return True


def test_publish_answers_once_kafka_holds_each_event_and_each_caller_gets_its_own(kafka_broker: KafkaBroker,
                                                                                  tmp_path: Path) -> None:
    settings = isolated_settings(unique_name("pub"), kafka_broker.bootstrap, "", tmp_path / "data")
    ensure_topics(settings)
    eventually(lambda: leaders_ready(settings), what="the events topic's leaders")
    publisher = UsagePublisher(settings, timeout_seconds=10)
    requests = [[event(10 * r + i) for i in range(r % 3 + 1)] for r in range(20)]

    async def one(events: list[UsageEvent]) -> tuple[list[str | None], set[str]]:
        answers = await publisher.publish(events)
        return answers, await asyncio.to_thread(stored_ids, settings)  # read at the moment it answered

    async def all_at_once():
        return await asyncio.gather(*(one(events) for events in requests))

    try:
        results = asyncio.run(all_at_once())
    finally:
        publisher.close()
    for events, (answers, stored) in zip(requests, results):
        assert answers == [None] * len(events)
        assert {str(e.event_id) for e in events} <= stored


def test_a_batch_goes_as_one_envelope_per_partition_each_where_its_events_would_have_gone(
        kafka_broker: KafkaBroker, tmp_path: Path) -> None:
    settings = isolated_settings(unique_name("pub"), kafka_broker.bootstrap, "", tmp_path / "data")
    ensure_topics(settings)
    eventually(lambda: leaders_ready(settings), what="the events topic's leaders")
    publisher = UsagePublisher(settings, timeout_seconds=10)
    events = [event(n) for n in range(60)]
    try:
        assert asyncio.run(publisher.publish(events)) == [None] * len(events)
    finally:
        publisher.close()
    messages = stored_messages(settings)
    assert len(messages) == len({murmur2_partition(e.session_id.encode(), settings.topic_partitions) for e in events})
    stored = [(partition, item) for partition, value in messages for item in events_of(value)]
    assert sorted(item["event_id"] for _, item in stored) == sorted(str(e.event_id) for e in events)
    for partition, item in stored:
        assert partition == murmur2_partition(item["session_id"].encode(), settings.topic_partitions)


def test_an_event_kafka_does_not_take_is_answered_with_its_error(tmp_path: Path) -> None:
    nobody = isolated_settings(unique_name("pub"), f"127.0.0.1:{free_port()}", "", tmp_path / "data")
    publisher = UsagePublisher(nobody, timeout_seconds=1)
    try:
        answers = asyncio.run(publisher.publish([event(1), event(2)]))
    finally:
        publisher.close(timeout=0)
    assert all(answers) and all(nobody.topic_events in answer for answer in answers)

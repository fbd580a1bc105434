"""The sink loop: consume usage.priced, batch by size and time, write, then commit offsets."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from pydantic import ValidationError

from meterstream.schemas import PricedUsage
from meterstream.settings import Settings
from meterstream.sinks.base import Sink

log = logging.getLogger(__name__)


@dataclass
class SinkCounts:
    stored: int = 0
    batches: int = 0
    dead_lettered: int = 0


class SinkRunner:
    """Drives a Sink from Kafka. Offsets are committed only after the sink wrote the batch,
    so a crash anywhere replays the batch with the same batch id (topic:partition:first-last)."""

    def __init__(self, settings: Settings, sink: Sink) -> None:
        self.settings = settings
        self.sink = sink
        self.counts = SinkCounts()
        self._consumer = Consumer({
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": settings.sink_group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "cooperative-sticky",
        })
        self._dlq = Producer(settings.kafka_producer_config())
        self._consumer.subscribe([settings.topic_priced])

    def run(self, stop: threading.Event, on_batch: Callable[[SinkCounts], None] | None = None) -> None:
        try:
            while not stop.is_set():
                if self.step() and on_batch is not None:
                    on_batch(self.counts)
        finally:
            self._consumer.close()
            self._dlq.flush(10)

    def step(self) -> int:
        """Collect one batch (size or time bound), write it and commit; returns its size."""
        messages = self._collect()
        if not messages:
            return 0
        by_partition: dict[int, list[Message]] = defaultdict(list)
        for message in messages:
            by_partition[message.partition()].append(message)
        commits = []
        for partition, batch in sorted(by_partition.items()):
            records = [record for record in map(self._decode, batch) if record is not None]
            batch_id = f"{self.settings.topic_priced}:{partition}:{batch[0].offset()}-{batch[-1].offset()}"
            self.sink.write(records, batch_id)
            self.counts.stored += len(records)
            commits.append(TopicPartition(self.settings.topic_priced, partition, batch[-1].offset() + 1))
        self._dlq.flush(10)
        self._consumer.commit(offsets=commits, asynchronous=False)
        self.counts.batches += 1
        return len(messages)

    def _collect(self) -> list[Message]:
        size = self.settings.sink_batch_size
        deadline = time.monotonic() + self.settings.sink_batch_seconds
        messages: list[Message] = []
        while len(messages) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for message in self._consumer.consume(num_messages=size - len(messages), timeout=remaining):
                error = message.error()
                if error is None:
                    messages.append(message)
                elif error.code() != KafkaError._PARTITION_EOF:
                    log.error("consumer error: %s", error.str())
        return messages

    def _decode(self, message: Message) -> PricedUsage | None:
        try:
            return PricedUsage.model_validate_json(message.value())
        except ValidationError as error:
            where = f"{message.topic()}[{message.partition()}]@{message.offset()}"
            log.error("dead-lettering unreadable priced record %s: %s", where, error)
            self._dlq.produce(self.settings.topic_dlq, value=message.value(), key=message.key(), headers={
                "meterstream-reason": f"unreadable priced record: {error}"[:2000],
                "meterstream-source": where,
            })
            self.counts.dead_lettered += 1
            return None

"""The sink loop: consume usage.priced, batch by size and time, write, then commit offsets.

A message holds one priced record or a batch of them (schemas/priced_batch.py); batches
are sized in records. Each record keeps the position of the message that carried it, so
the records of one message share it.

Effectively once: offsets are committed only after the write succeeded, so a crash
replays the batch; replayed records are then dropped if the sink already holds them.
Which records need that check is known exactly: those the worker flagged as replays,
and on a freshly assigned partition, those at or below the highest offset the sink
already stored (it may have died between its insert and its commit).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from pydantic import ValidationError

from meterstream.failpoints import failpoint
from meterstream.schemas import PricedUsage
from meterstream.schemas.priced_batch import decode_priced, split_priced
from meterstream.settings import Settings
from meterstream.sinks.base import Sink, SinkRecord

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 5.0


@dataclass
class SinkCounts:
    stored: int = 0
    batches: int = 0
    dead_lettered: int = 0
    skipped_as_stored: int = 0
    retries: int = 0
    # Rows stored since start per (tenant, source partition), for Prometheus.
    stored_by_tenant: Counter[tuple[str, int]] = field(default_factory=Counter)


class SinkRunner:
    def __init__(self, settings: Settings, sink: Sink) -> None:
        self.settings = settings
        self.sink = sink
        self.counts = SinkCounts()
        self._verify_until: dict[int, int] = {}
        self._consumer = Consumer({
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": settings.sink_group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": int(settings.consumer_session_timeout * 1000),
            "heartbeat.interval.ms": int(settings.consumer_session_timeout * 250),
            # Partitions added to usage.priced (meterstream topics scale) are read within seconds.
            "topic.metadata.refresh.interval.ms": 5000,
        })
        self._dlq = Producer(settings.kafka_producer_config())
        self._consumer.subscribe([settings.topic_priced], on_assign=self._on_assign)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        stored = self._with_retry(self.sink.stored_offsets, "read stored offsets")
        for tp in partitions:
            if tp.partition in stored:
                self._verify_until[tp.partition] = stored[tp.partition]
        log.info("assigned %s; verifying up to %s", [tp.partition for tp in partitions], self._verify_until)

    def run(self, stop: threading.Event, on_batch: Callable[[SinkCounts], None] | None = None) -> None:
        self._stop = stop
        try:
            while not stop.is_set():
                if self.step() and on_batch is not None:
                    on_batch(self.counts)
        finally:
            self._consumer.close()
            self._dlq.flush(10)
            # Destroyed now, not when the runner is: an idle producer kept reconnecting, and librdkafka
            # printed "Connection refused" after the demo's report once the broker had stopped.
            del self._dlq

    def step(self) -> int:
        """Collect one batch (size or time bound), write it and commit; returns its records."""
        collected = self._collect()
        if not collected:
            return 0
        by_partition: dict[int, list[tuple[Message, list[PricedUsage]]]] = defaultdict(list)
        for message, records in collected:
            by_partition[message.partition()].append((message, records))
        commits = []
        for partition, batch in sorted(by_partition.items()):
            records = self._new_records(partition, batch)
            batch_id = f"{self.settings.topic_priced}:{partition}:{batch[0][0].offset()}-{batch[-1][0].offset()}"
            failpoint("sink.before_insert")
            self._write(records, batch_id)
            failpoint("sink.after_insert")
            commits.append(TopicPartition(self.settings.topic_priced, partition, batch[-1][0].offset() + 1))
        self._dlq.flush(30)
        self._consumer.commit(offsets=commits, asynchronous=False)
        failpoint("sink.after_commit")
        self.counts.batches += 1
        return sum(len(records) for _, records in collected)

    def _new_records(self, partition: int, batch: list[tuple[Message, list[PricedUsage]]]) -> list[SinkRecord]:
        """The batch's records, less repeats and less what the sink already stored."""
        unique: dict[object, SinkRecord] = {}
        for message, records in batch:
            for priced in records:
                unique.setdefault(priced.event.event_id, SinkRecord(priced, partition, message.offset()))
        records = list(unique.values())
        verify_until = self._verify_until.get(partition, -1)
        suspects = [r for r in records if r.priced.replayed or r.offset <= verify_until]
        if suspects:
            stored = self._with_retry(lambda: self.sink.already_stored(suspects), "check stored records")
            records = [r for r in records if r.priced.event.event_id not in stored]
            self.counts.skipped_as_stored += len(unique) - len(records)
        return records

    def _write(self, records: Sequence[SinkRecord], batch_id: str) -> None:
        """Write with retries on outages; a batch ClickHouse refuses is split to find the bad records."""
        def attempt() -> None:
            failpoint("sink.insert")
            self.sink.write(records, batch_id)

        try:
            self._with_retry(attempt, f"insert {batch_id}")
        except Exception as error:  # noqa: BLE001 - not retryable: isolate the records at fault
            if len(records) == 1:
                self._dead_letter_record(records[0], error)
                return
            middle = len(records) // 2
            self._write(records[:middle], f"{batch_id}/a")
            self._write(records[middle:], f"{batch_id}/b")
            return
        self.counts.stored += len(records)
        for record in records:
            source = record.priced.source
            self.counts.stored_by_tenant[(record.priced.event.tenant_id, source.partition if source else 0)] += 1

    def _with_retry(self, action: Callable, what: str):
        """Run `action`, retrying with capped exponential backoff while its errors are retryable.

        The consumer is paused meanwhile and keeps polling, so it stays in its group however
        long ClickHouse is away; it loses nothing, because nothing is committed.
        """
        delay = 0.2
        paused = False
        try:
            while True:
                try:
                    return action()
                except Exception as error:
                    if not self.sink.is_retryable(error):
                        raise
                    if getattr(self, "_stop", None) is not None and self._stop.is_set():
                        raise
                    self.counts.retries += 1
                    log.warning("%s failed (%s); retrying in %.1fs", what, error, delay)
                    if not paused:
                        assignment = self._consumer.assignment()
                        self._consumer.pause(assignment)
                        paused = True
                    deadline = time.monotonic() + delay
                    while time.monotonic() < deadline:
                        self._consumer.poll(min(0.2, max(0.0, deadline - time.monotonic())))
                    delay = min(delay * 2, MAX_BACKOFF_S)
        finally:
            if paused:
                self._consumer.resume(self._consumer.assignment())

    def _collect(self) -> list[tuple[Message, list[PricedUsage]]]:
        """Messages with their decoded records, until the batch has sink_batch_size records
        (a batch message may take it past by its own size) or its time is up."""
        size = self.settings.sink_batch_size
        deadline = time.monotonic() + self.settings.sink_batch_seconds
        collected: list[tuple[Message, list[PricedUsage]]] = []
        records = 0
        while records < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            # As many messages as the records still wanted, at the records per message seen so far:
            # one message first, as a catch-up has thousands waiting that may each be a batch.
            wanted = max(1, (size - records) * len(collected) // records) if records else 1
            for message in self._consumer.consume(num_messages=wanted, timeout=remaining):
                error = message.error()
                if error is None:
                    decoded = self._decode(message)
                    collected.append((message, decoded))
                    records += len(decoded)
                elif error.code() != KafkaError._PARTITION_EOF:
                    log.error("consumer error: %s", error.str())
        return collected

    def _decode(self, message: Message) -> list[PricedUsage]:
        """The message's records; what cannot be read goes to the DLQ, record by record if
        the rest of its batch can be read."""
        where = f"{message.topic()}[{message.partition()}]@{message.offset()}"
        try:
            return decode_priced(message.value())
        except ValidationError:
            pass
        try:
            parts = split_priced(message.value())
        except ValueError as error:
            self._send_dead_letter(message.value(), message.key(), f"unreadable priced message: {error}", where)
            return []
        records = []
        for index, part in enumerate(parts):
            try:
                records.append(PricedUsage.model_validate_json(part))
            except ValidationError as error:
                self._send_dead_letter(part, message.key(), f"unreadable priced record: {error}",
                                       where if len(parts) == 1 else f"{where}#{index}")
        return records

    def _dead_letter_record(self, record: SinkRecord, error: Exception) -> None:
        priced = record.priced
        self._send_dead_letter(priced.model_dump_json().encode(), priced.event.session_id.encode(),
                               f"ClickHouse refused the record: {error}",
                               f"{self.settings.topic_priced}[{record.partition}]@{record.offset}")

    def _send_dead_letter(self, value: bytes | None, key: bytes | None, reason: str, where: str) -> None:
        log.error("dead-lettering %s: %s", where, reason[:500])
        self._dlq.produce(self.settings.topic_dlq, value=value, key=key, headers={
            "meterstream-reason": reason[:2000], "meterstream-source": where,
        })
        self.counts.dead_lettered += 1

"""usage.alerts → this host's outbox: record each alert of this host's share (the consumer
group splits the partitions between API hosts) with its pending deliveries, then commit.

The offset is committed only after SQLite has the batch, so a relay that dies loses
nothing: the next one reads the batch again, and recording an id it already has is a no-op.
Records that are not AlertRecords are logged, counted and skipped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from pydantic import ValidationError

from meterstream.alerts.metrics import AlertMetrics
from meterstream.alerts.store import AlertStore
from meterstream.kafka_reading import consume_ready
from meterstream.schemas.alerts import AlertRecord
from meterstream.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

BATCH = 500
MAX_BACKOFF_S = 5.0


def relay_group(settings: Settings) -> str:
    return f"{settings.app_id}-alerts"


@dataclass
class RelayCounts:
    read: int = 0
    new: int = 0
    malformed: int = 0


class ReaderLoop:
    """A reader of the alerts topic on a thread of its own: `step` until told to stop."""

    _consumer: Consumer

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self.step(stop)
        finally:
            self._consumer.close()

    def step(self, stop: threading.Event, timeout: float = 0.5) -> int:
        raise NotImplementedError

    def _messages(self, timeout: float) -> list[Message]:
        """Up to a batch of records (errors logged and left out)."""
        messages = []
        for message in consume_ready(self._consumer, BATCH, timeout):
            error = message.error()
            if error is None:
                messages.append(message)
            elif error.code() != KafkaError._PARTITION_EOF:
                log.warning("alerts topic: %s", error)
        return messages


class AlertRelay(ReaderLoop):
    def __init__(self, settings: Settings, store: AlertStore, metrics: AlertMetrics | None = None,
                 on_new: Callable[[list[AlertRecord]], None] | None = None,
                 before_record: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.before_record = before_record
        self.store = store
        self.metrics = metrics
        self.on_new = on_new
        self.counts = RelayCounts()
        self._consumer = Consumer({
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": relay_group(settings),
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": int(settings.consumer_session_timeout * 1000),
            "heartbeat.interval.ms": int(settings.consumer_session_timeout * 250),
        })
        self._consumer.subscribe([settings.topic_alerts])

    def step(self, stop: threading.Event, timeout: float = 0.5) -> int:
        """Read what is there (up to a batch), record it, commit; returns how many alerts were new."""
        records: list[AlertRecord] = []
        offsets: dict[tuple[str, int], int] = {}
        for message in self._messages(timeout):
            offsets[(message.topic(), message.partition())] = message.offset() + 1
            self.counts.read += 1
            record = self._decode(message)
            if record is not None:
                records.append(record)
        if not offsets:
            return 0
        new = self._record(records, stop)
        if new is None:  # stopping before SQLite took the batch: leave it uncommitted for the next relay
            return 0
        try:
            self._consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                                  asynchronous=False)
        except KafkaException as error:  # e.g. a rebalance: the new owner re-reads, recording is idempotent
            log.warning("alerts relay: commit failed (%s); the records will be read again", error)
        self.counts.new += len(new)
        if self.metrics is not None:
            for record in new:
                self.metrics.received.labels(record.kind.value).inc()
        if new and self.on_new is not None:
            self.on_new(new)
        return len(new)

    def _decode(self, message: Message) -> AlertRecord | None:
        record = decode_alert(message)
        if record is None:
            self.counts.malformed += 1
            if self.metrics is not None:
                self.metrics.malformed.inc()
        return record

    def _record(self, records: list[AlertRecord], stop: threading.Event) -> list[AlertRecord] | None:
        """Store the batch (after catching up with the shared webhooks), retrying while SQLite
        or Kafka is unavailable; None if told to stop first."""
        def record() -> list[AlertRecord]:
            if self.before_record is not None:
                self.before_record()
            return self.store.record_alerts(records)

        return retrying(record, stop, f"alerts relay: could not record {len(records)} alerts")


def decode_alert(message: Message) -> AlertRecord | None:
    """The message's AlertRecord, or None (logged) if it is not one."""
    try:
        return AlertRecord.model_validate_json(message.value() or b"")
    except (ValidationError, ValueError) as error:
        log.warning("alerts topic: skipping %s[%d]@%d, not an AlertRecord: %s", message.topic(),
                    message.partition(), message.offset(), str(error).splitlines()[0])
        return None


def retrying(write: Callable[[], T], stop: threading.Event, what: str) -> T | None:
    """`write()`, tried again with backoff while it fails (a locked file, Kafka away); None if
    told to stop first."""
    wait = 0.1
    while True:
        try:
            return write()
        except Exception:  # noqa: BLE001 - keep the batch and retry
            log.exception("%s; retrying in %.1fs", what, wait)
        if stop.wait(wait):
            return None
        wait = min(wait * 2, MAX_BACKOFF_S)

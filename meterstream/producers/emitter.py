"""UsageEmitter: the one line a service adds to meter its model calls."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from meterstream.errors import MeterstreamError
from meterstream.schemas import UsageEvent, parse_usage_event
from meterstream.settings import Settings, get_settings

log = logging.getLogger(__name__)


class EmitQueueFull(MeterstreamError):
    """The producer's local queue stayed full; the event was not accepted."""


@dataclass
class DeliveryCounts:
    delivered: int = 0
    failed: int = 0
    last_error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, error: KafkaError | None, message: Message) -> None:
        with self._lock:
            if error is None:
                self.delivered += 1
            else:
                self.failed += 1
                self.last_error = f"{message.topic()}: {error.str()}"
                log.error("delivery failed for key %s: %s", message.key(), error.str())


class UsageEmitter:
    """Validates usage events and produces them to `usage.events`, keyed by session_id.

    `emit()` never blocks on the network: the event joins librdkafka's queue and
    delivery is reported later (see `counts`). `flush()` waits for outstanding ones.
    """

    def __init__(self, settings: Settings | None = None, **producer_overrides: Any) -> None:
        self._settings = settings or get_settings()
        self._topic = self._settings.topic_events
        self._producer = Producer({**self._settings.kafka_producer_config(), **producer_overrides})
        self.counts = DeliveryCounts()

    def emit(self, event: UsageEvent | dict[str, Any]) -> UsageEvent:
        """Validate and enqueue one event; returns it (with its generated event_id)."""
        if not isinstance(event, UsageEvent):
            event = parse_usage_event(event)
        self.send_raw(event.session_id.encode(), event.model_dump_json().encode())
        return event

    def send_raw(self, key: bytes, value: bytes) -> None:
        """Enqueue pre-serialized bytes as they are (tests use it to send malformed input)."""
        try:
            self._producer.produce(self._topic, value=value, key=key, on_delivery=self.counts.record)
        except BufferError:
            # Queue full: serve delivery callbacks for a moment to make room, once.
            self._producer.poll(0.1)
            try:
                self._producer.produce(self._topic, value=value, key=key, on_delivery=self.counts.record)
            except BufferError:
                raise EmitQueueFull(f"the local queue for {self._topic} is full; the event was not accepted") from None
        self._producer.poll(0)

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for outstanding deliveries; returns how many are still undelivered."""
        return self._producer.flush(timeout)

    def close(self, timeout: float = 30.0) -> None:
        remaining = self.flush(timeout)
        if remaining:
            log.error("%d usage events were still undelivered at close", remaining)

    def __enter__(self) -> UsageEmitter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

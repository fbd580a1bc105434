"""Sending validated usage events to Kafka from async request handlers.

Each message is produced with a delivery callback that resolves an asyncio future, so a
request answers only after the broker acknowledged its events (acks=all, idempotent
producer), and a slow or absent broker becomes a clear 503 instead of a lost event. A
request's events go as one batch envelope per destination partition (producers/batching.py);
an event alone goes as a single-event message.

A background thread serves librdkafka's callbacks. They only note the outcome; after each
`poll()` the thread hands everything it served to the event loop in one
`call_soon_threadsafe` (one wake-up of the loop per poll, not one per event). Concurrent
requests share produce requests through the producer's linger (`linger.ms`, 5 ms).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Sequence
from functools import partial

from confluent_kafka import KafkaError, Message, Producer

from meterstream.producers.batching import Placement, batch_messages
from meterstream.schemas import UsageEvent
from meterstream.settings import Settings

log = logging.getLogger(__name__)


class UsagePublisher:
    def __init__(self, settings: Settings, timeout_seconds: float) -> None:
        self.topic = settings.topic_events
        timeout_ms = int(timeout_seconds * 1000)
        config = {
            **settings.kafka_producer_config(),
            "message.timeout.ms": timeout_ms,
            "request.timeout.ms": min(timeout_ms, 30000),
        }
        self._producer = Producer(config)
        self._placement = Placement(self._producer, self.topic, config)
        # (future, error text or None), noted by the delivery callbacks, handed over by the poller
        self._served: deque[tuple[asyncio.Future[str | None], str | None]] = deque()
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="usage-publisher", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)
            self._hand_over()

    def _hand_over(self) -> None:
        """Resolve the served futures, one call into each waiting event loop."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[str | None], str | None]]] = {}
        while self._served:
            future, result = self._served.popleft()
            by_loop.setdefault(future.get_loop(), []).append((future, result))
        for loop, outcomes in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, outcomes)
            except RuntimeError:  # that loop is closed: nobody waits for these any more
                pass

    def _delivered(self, futures: list[asyncio.Future[str | None]], error: KafkaError | None,
                   message: Message) -> None:
        result = None if error is None else f"{message.topic()}: {error.str()}"
        self._served.extend((future, result) for future in futures)

    async def publish(self, events: Sequence[UsageEvent]) -> list[str | None]:
        """Send events keyed by session_id; per event, None when acknowledged or the error text
        (the same for every event of one envelope)."""
        loop = asyncio.get_running_loop()
        records = [(event.session_id.encode(), event.model_dump_json().encode()) for event in events]
        # The placement asks the broker for the partition count now and then: off the event loop.
        place = await asyncio.to_thread(self._placement) if len(records) > 1 else None
        futures: list[asyncio.Future[str | None]] = [loop.create_future() for _ in records]
        for key, value, indexes in batch_messages(records, place):
            self._produce(key, value, partial(self._delivered, [futures[index] for index in indexes]))
        return list(await asyncio.gather(*futures))

    def _produce(self, key: bytes, value: bytes, on_delivery) -> None:
        try:
            self._producer.produce(self.topic, value=value, key=key, on_delivery=on_delivery)
        except BufferError:
            # librdkafka's queue is full: let deliveries drain, then try once more.
            self._producer.flush(1.0)
            self._producer.produce(self.topic, value=value, key=key, on_delivery=on_delivery)

    def close(self, timeout: float = 10.0) -> None:
        remaining = self._producer.flush(timeout)
        if remaining:
            log.error("%d usage events were still undelivered when the API stopped", remaining)
        self._stop.set()
        self._poller.join(5)
        self._hand_over()


def _resolve(outcomes: list[tuple[asyncio.Future[str | None], str | None]]) -> None:
    for future, result in outcomes:
        if not future.done():
            future.set_result(result)

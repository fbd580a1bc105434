"""The router: `usage.events` → `usage.routed`, each message to its session's home partition.

A plain consumer and producer (confluent-kafka) on a thread of the worker process, in a
consumer group of its own: it keeps no state, so it needs none of Faust's tables, and a
bare consumer reads many times faster than a Faust stream (bench/). Per poll it groups the
messages by home partition and source partition and sends one routed message per group,
waits until the broker has all of them, and only then commits the source offsets. A crash
before the commit forwards those messages again; the metering rules recognise them by
their original position (see routing.py), so nothing is counted twice or lost.

It subscribes to the topic, so partitions added to `usage.events` are picked up within
`metadata_refresh_ms` and routed like the others.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

from meterstream.kafka_reading import consume_ready
from meterstream.settings import Settings
from meterstream.stream.routing import chunks, encode_routed, route_batch

log = logging.getLogger(__name__)

POLL_MESSAGES = 2000


def router_group(settings: Settings) -> str:
    return f"{settings.app_id}-router"


class Router:
    def __init__(self, settings: Settings, on_fatal: Callable[[str], None], metadata_refresh_ms: int = 5000) -> None:
        self.settings = settings
        self.on_fatal = on_fatal
        self.partitions = settings.topic_partitions
        self.consumer = Consumer({
            "bootstrap.servers": settings.kafka_bootstrap, "group.id": router_group(settings),
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "session.timeout.ms": int(settings.consumer_session_timeout * 1000),
            "topic.metadata.refresh.interval.ms": metadata_refresh_ms,
        })
        self.producer = Producer({**settings.kafka_producer_config(), "linger.ms": 2})
        self.failure: str | None = None
        self.routed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="router", daemon=True)

    def start(self) -> Router:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)

    def _run(self) -> None:
        try:
            self.consumer.subscribe([self.settings.topic_events])
            while not self._stop.is_set():
                self.route_once()
        except Exception as error:  # noqa: BLE001 - the worker must stop, not go on half-working
            log.exception("the router stopped")
            self.on_fatal(f"the router failed: {error!r}")
        finally:
            self.consumer.close()

    def route_once(self, timeout: float = 0.1) -> int:
        """Forward one poll's messages, then commit them; returns how many were forwarded."""
        messages = [m for m in consume_ready(self.consumer, POLL_MESSAGES, timeout) if not _skippable(m)]
        if not messages:
            return 0
        batch = [(m.topic(), m.partition(), m.offset(), m.key(), m.value()) for m in messages]
        for home, by_source in route_batch(batch, self.partitions).items():
            for source, items in by_source.items():
                for chunk in chunks(items):
                    self._produce(home, encode_routed(source, chunk))
        undelivered = self.producer.flush(self.settings.consumer_session_timeout * 30)
        if undelivered or self.failure:
            raise KafkaException(f"routed messages were not delivered ({self.failure or undelivered})")
        try:
            self.consumer.commit(asynchronous=False)
        except KafkaException as error:  # partitions moved on: their new owner forwards them again
            log.warning("router commit refused (%s); those messages will be routed again", error)
        self.routed += len(messages)
        return len(messages)

    def _produce(self, home: int, value: bytes) -> None:
        self.producer.produce(self.settings.topic_routed, value, partition=home, on_delivery=self._delivered)
        self.producer.poll(0)

    def _delivered(self, error: KafkaError | None, message: object) -> None:
        if error is not None:
            self.failure = error.str()


def _skippable(message) -> bool:
    error = message.error()
    if error is None:
        return False
    if error.code() != KafkaError._PARTITION_EOF:
        log.warning("router: %s", error)
    return True


def stop_process(why: str) -> None:
    """What a worker does when its router fails: stop, so that a restart routes again."""
    log.critical("%s; stopping the worker so that a restart routes the messages again", why)
    logging.shutdown()
    os._exit(71)

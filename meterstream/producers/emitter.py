"""UsageEmitter: the one line a service adds to meter its model calls."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from confluent_kafka import KafkaError, Message, Producer

from meterstream.producers.batching import Placement, batch_messages
from meterstream.producers.reservations import Reservation, planned_event, reserve
from meterstream.producers.spool import Spool, read_records
from meterstream.schemas import UsageEvent, parse_usage_event
from meterstream.settings import Settings, get_settings

if TYPE_CHECKING:
    from meterstream.budgets.client import BudgetClient
    from meterstream.pricing import Pricer

log = logging.getLogger(__name__)


class UsageEmitter:
    """Validates usage events and produces them to `usage.events`, keyed by session_id.

    `emit()` never waits for the network: the event joins an in-memory buffer that a
    background thread turns, every `emit_linger_ms`, into one batch envelope per destination
    partition (batching.py), or with the linger at 0 it joins librdkafka's queue at once, as
    one message. When that queue is full a message goes to the on-disk spool. Messages whose
    delivery fails, and those still queued at `close()`, go to the spool too; a background
    thread replays the spool once the broker takes messages again. `counts()` says where
    everything went, in messages (an envelope is one).
    """

    def __init__(self, settings: Settings | None = None, spool_dir: Path | None = None,
                 replay_interval: float = 2.0, **producer_overrides: Any) -> None:
        self._settings = settings or get_settings()
        self._topic = self._settings.topic_events
        config = {**self._settings.kafka_producer_config(), **producer_overrides}
        self._producer = Producer(config)
        self._placement = Placement(self._producer, self._topic, config)
        self.spool = Spool(spool_dir or self._settings.data_dir / "spool")
        self.delivered = 0
        self.failed = 0
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._replayer = threading.Thread(target=self._replay_loop, args=(replay_interval,),
                                          name="meterstream-spool-replay", daemon=True)
        self._replayer.start()
        self._linger = self._settings.emit_linger_ms / 1000
        self._pending: list[tuple[bytes, bytes]] = []
        self._pending_lock = threading.Lock()
        self._wake = threading.Event()
        self._batcher = threading.Thread(target=self._batch_loop, name="meterstream-emit-batcher", daemon=True)
        if self._linger:
            self._batcher.start()
        self._budgets: BudgetClient | None = None  # made on the first reserve()
        self._pricer: Pricer | None = None

    @property
    def settings(self) -> Settings:
        return self._settings

    def emit(self, event: UsageEvent | dict[str, Any]) -> UsageEvent:
        """Validate and enqueue one event; returns it (with its generated event_id).

        Raises InvalidUsageEvent, naming each bad field, before anything leaves the process.
        """
        if not isinstance(event, UsageEvent):
            event = parse_usage_event(event)
        key, value = event.session_id.encode(), event.model_dump_json().encode()
        if not self._linger:
            self.send_raw(key, value)
            return event
        with self._pending_lock:
            self._pending.append((key, value))
            first = len(self._pending) == 1
        if first:
            self._wake.set()
        return event

    def reserve(self, model: str, usage: dict[str, Any], *, tenant_id: str, session_id: str,
                ttl: timedelta | None = None, **fields: Any) -> Reservation:
        """Hold budget for a planned call; see meterstream.producers.reservations.

        Raises BudgetExceeded when a blocking budget has no room, InvalidUsageEvent for a bad plan.
        """
        from meterstream.budgets.client import BudgetClient
        from meterstream.pricing import Pricer, load_catalog, load_tenants

        if self._budgets is None:
            self._budgets = BudgetClient(self._settings)
            self._pricer = Pricer(load_catalog(self._settings.catalog), load_tenants(self._settings.tenant_pricing_file))
        planned = planned_event(model, usage, tenant_id=tenant_id, session_id=session_id, **fields)
        return reserve(self, self._budgets, self._pricer, planned,
                       ttl or timedelta(seconds=self._settings.reservation_ttl_seconds))

    def send_raw(self, key: bytes | None, value: bytes) -> None:
        """Enqueue bytes as they are (replays, and tests that send malformed input)."""
        try:
            self._producer.produce(self._topic, value=value, key=key, on_delivery=self._on_delivery)
        except BufferError:
            self.spool.append(key, value)
        self._producer.poll(0)

    def _batch_loop(self) -> None:
        while not self._closed.is_set():
            self._wake.wait()
            self._closed.wait(self._linger)  # close() cuts the linger short
            self._wake.clear()  # before taking the buffer: an emit from here on wakes the next round
            self.send_pending()

    def send_pending(self) -> None:
        """Produce the buffered events now, one envelope per destination partition."""
        with self._pending_lock:
            records, self._pending = self._pending, []
        if records:
            for key, value, _ in batch_messages(records, self._placement()):
                self.send_raw(key, value)

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            with self._lock:
                self.delivered += 1
            return
        with self._lock:
            self.failed += 1
            self.last_error = error.str()
        if error.code() not in (KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT):
            log.warning("delivery of a usage message failed (%s); spooled for replay", error.str())
        self.spool.append(message.key(), message.value())

    def counts(self) -> dict[str, int]:
        return {"delivered": self.delivered, "spooled": self.spool.written,
                "queued": len(self._producer) + len(self._pending)}

    def flush(self, timeout: float = 30.0) -> int:
        """Send the buffered events and wait for queued messages; returns how many are still undelivered."""
        self.send_pending()
        return self._producer.flush(timeout)

    def replay_spool(self) -> int:
        """Move spooled events back into the producer's queue; returns how many.

        A file is deleted once its events are queued: from there a failed delivery or a
        shutdown spools them again, so nothing is lost and nothing grows while the broker
        stays away.
        """
        self.spool.seal()
        replayed = 0
        for path in self.spool.sealed_files():
            for key, value in read_records(path):
                self.send_raw(key or None, value)
                replayed += 1
            path.unlink()
        return replayed

    def _broker_reachable(self) -> bool:
        try:
            self._producer.list_topics(self._topic, timeout=1)
        except Exception:  # noqa: BLE001 - any failure means not now
            return False
        return True

    def _replay_loop(self, interval: float) -> None:
        while not self._closed.wait(interval):
            # Replay into an empty queue only, and only when the broker answers.
            if self.spool.pending() and len(self._producer) == 0 and self._broker_reachable():
                try:
                    count = self.replay_spool()
                    if count:
                        log.info("replayed %d spooled usage events", count)
                except Exception:  # noqa: BLE001 - the next round tries again
                    log.exception("replaying the spool failed")

    def close(self, timeout: float = 30.0) -> None:
        """Deliver what can be delivered within `timeout`; spool the rest to disk."""
        self._closed.set()
        self._wake.set()
        if self._batcher.is_alive():
            self._batcher.join()
        self.send_pending()
        self._replayer.join()
        remaining = self._producer.flush(timeout)
        if remaining:
            self._producer.purge(in_queue=True, in_flight=True, blocking=True)
            self._producer.flush(0)  # serves the purge reports, which spool each event
            log.warning("%d usage messages were undelivered at close; spooled in %s", remaining,
                        self.spool.directory)
        self.spool.seal()
        if self._budgets is not None:
            self._budgets.close()

    def __enter__(self) -> UsageEmitter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

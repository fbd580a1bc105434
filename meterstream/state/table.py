"""A compacted Kafka topic read as a table: every process reads it whole and keeps it in memory.

Why Kafka: it is the one server every meterstream deployment already has (the embedded
default runs a broker too), so API processes on several hosts share keys, sessions and
webhooks without a database server, and the CLI writes to the same place while `serve` runs.
Compaction keeps one record per key, so a reader starting from the beginning reads the
current state, not the whole history.

The three guarantees, and how:

- **Caught up before answering.** At start the reader notes each partition's end offset;
  `wait_ready` returns once it has read that far (PARTITION_EOF also counts, so a compacted
  or empty tail never leaves it waiting). The API finishes starting only after that.
- **Read your writes.** `put` produces (acks=all), learns the record's offset from the
  delivery report, and returns only once this process's reader has read past it: the view
  already holds the write, so the next request on this host sees it. `put_many` does the same
  for several records with one wait for their acknowledgements and one per partition.
- **Read the latest** (`sync`). Asks the broker for the end offsets of some partitions now
  and waits until the reader has read that far. Anything any host wrote and had acknowledged
  before `sync` was called is then in the view: a linearizable read, at the price of one
  ListOffsets round trip. Concurrent syncs of a partition share one query if it began after
  they arrived (a query that starts later sees at least as much), so a burst costs little.

What a table makes of its records is its `View` (views.py, pure). `on_change(key, value)`
runs on the reader thread after a record is applied and before the reader's position moves
past it, so a `put` that returned has also run it (the webhook mirror relies on this).

The topic's partition count must never change: `stable_partition` places related records
by it, and "first in the partition" decides between them (the API's sessions).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from meterstream.errors import InfrastructureUnavailable
from meterstream.kafka_reading import consume_ready
from meterstream.settings import Settings
from meterstream.state.views import View, stable_partition

log = logging.getLogger(__name__)

V = TypeVar("V", bound=View)

BATCH = 1000


class TopicTable(Generic[V]):
    def __init__(self, settings: Settings, topic: str, view: V,
                 on_change: Callable[[str, dict[str, Any] | None], None] | None = None) -> None:
        self.topic = topic
        self.view = view
        self.on_change = on_change
        self.timeout = settings.state_timeout_seconds
        # Held while a record is applied; hold it to read the view consistently.
        self.lock = threading.RLock()
        self.error: BaseException | None = None
        self._progress = threading.Condition()
        self._stop = threading.Event()
        common = {"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"{settings.app_id}-state",
                  "enable.auto.commit": False}
        # Reads every partition from the beginning; never joins a group, never commits.
        self._consumer = Consumer({**common, "enable.partition.eof": True, "fetch.wait.max.ms": 100,
                                   "fetch.error.backoff.ms": 50, "auto.offset.reset": "earliest"})
        self._offsets = Consumer(common)  # end-offset queries, apart from the reader's fetches
        self._producer = Producer({**settings.kafka_producer_config(), "linger.ms": 0,
                                   "message.timeout.ms": int(self.timeout * 1000)})
        self.partitions = self._partition_count()
        self._positions = dict.fromkeys(range(self.partitions), 0)  # next offset to read, per partition
        self._last_end = {p: (float("-inf"), 0) for p in range(self.partitions)}  # (query began, end offset)
        self._query_locks = {p: threading.Lock() for p in range(self.partitions)}
        self._ready_at = {p: self._end_offset(p) for p in range(self.partitions)}
        self._consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(self.partitions)])
        self._reader = threading.Thread(target=self._read, name=f"table-{topic}", daemon=True)
        self._poller = threading.Thread(target=self._poll, name=f"table-{topic}-producer", daemon=True)
        self._reader.start()
        self._poller.start()

    # --- waiting ---------------------------------------------------------------------------

    def wait_ready(self, timeout: float | None = None) -> TopicTable[V]:
        """Block until the reader has read what the topic held when the table was made."""
        for partition, end in self._ready_at.items():
            self._wait(partition, end, timeout or max(self.timeout, 60.0), "read the table at start")
        return self

    def sync(self, partition_keys: Iterable[str] | None = None) -> None:
        """Block until every record acknowledged before this call, on the partitions of
        `partition_keys` (all partitions when None), is in the view."""
        partitions = (range(self.partitions) if partition_keys is None
                      else {self.partition_of(key) for key in partition_keys})
        for partition in partitions:
            self._wait(partition, self._end_offset(partition), self.timeout, "catch up")

    def partition_of(self, partition_key: str) -> int:
        return stable_partition(partition_key, self.partitions)

    # --- writing ---------------------------------------------------------------------------

    def put(self, key: str, value: dict[str, Any] | None, partition_key: str | None = None) -> int:
        """Write `value` (None: a tombstone) under `key` on the partition of `partition_key`
        (default: the key); returns once the view holds it. Returns the record's offset."""
        [offset] = self.put_many([(key, value, partition_key)])
        return offset

    def put_many(self, records: Iterable[tuple[str, dict[str, Any] | None, str | None]]) -> list[int]:
        """`put` of several (key, value, partition_key) records at once: all are sent, then this
        waits once for their acknowledgements and once per partition for the reader. Returns
        their offsets, in order."""
        placed: list[tuple[int, concurrent.futures.Future[int]]] = []
        for key, value, partition_key in records:
            partition = self.partition_of(partition_key or key)
            delivered: concurrent.futures.Future[int] = concurrent.futures.Future()

            def report(error: KafkaError | None, message: Message, delivered=delivered) -> None:
                if error is not None:
                    delivered.set_exception(InfrastructureUnavailable(f"{self.topic}: {error.str()}"))
                else:
                    delivered.set_result(message.offset())

            payload = None if value is None else orjson.dumps(value)
            self._producer.produce(self.topic, value=payload, key=key.encode(), partition=partition,
                                   on_delivery=report)
            placed.append((partition, delivered))
        deadline = time.monotonic() + self.timeout + 1
        try:
            offsets = [delivered.result(max(0.0, deadline - time.monotonic())) for _, delivered in placed]
        except concurrent.futures.TimeoutError:
            raise InfrastructureUnavailable(f"Kafka did not take a write to {self.topic} in time") from None
        ends: dict[int, int] = {}
        for (partition, _), offset in zip(placed, offsets):
            ends[partition] = max(ends.get(partition, 0), offset + 1)
        for partition, end in ends.items():
            self._wait(partition, end, self.timeout, "read its own write back")
        return offsets

    # --- the reader ------------------------------------------------------------------------

    def _read(self) -> None:
        try:
            while not self._stop.is_set():
                # Not consume(n, timeout), which waits for n messages or the whole timeout: a
                # write is applied the moment it arrives.
                self._step(consume_ready(self._consumer, BATCH, 0.1))
        except BaseException as error:  # noqa: BLE001 - kept for every waiter to raise
            log.exception("table %s: the reader stopped", self.topic)
            self.error = error
            with self._progress:
                self._progress.notify_all()

    def _step(self, messages: list[Message]) -> None:
        moved: dict[int, int] = {}
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    moved[message.partition()] = max(moved.get(message.partition(), 0), message.offset())
                else:
                    log.warning("table %s: %s", self.topic, error)
                continue
            self._apply(message)
            moved[message.partition()] = message.offset() + 1
        if moved:
            with self._progress:
                for partition, position in moved.items():
                    self._positions[partition] = max(self._positions[partition], position)
                self._progress.notify_all()

    def _apply(self, message: Message) -> None:
        key = (message.key() or b"").decode(errors="replace")
        raw = message.value()
        try:
            value = None if raw is None else orjson.loads(raw)
            if value is not None and not isinstance(value, dict):
                raise ValueError("not a JSON object")
            with self.lock:
                self.view.apply(key, value, message.partition(), message.offset())
        except ValueError as error:  # a record this table cannot read is skipped, never fatal
            log.warning("table %s: skipping %d@%d: %s", self.topic, message.partition(), message.offset(), error)
            return
        if self.on_change is not None:
            try:
                self.on_change(key, value)
            except Exception:  # noqa: BLE001 - the table goes on; the callback's owner logs its state
                log.exception("table %s: on_change failed for %s", self.topic, key)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)

    # --- offsets ---------------------------------------------------------------------------

    def _partition_count(self) -> int:
        deadline = time.monotonic() + max(self.timeout, 30.0)
        while True:
            try:
                metadata = self._offsets.list_topics(self.topic, timeout=10).topics.get(self.topic)
                if metadata is not None and metadata.error is None and metadata.partitions:
                    return len(metadata.partitions)
            except KafkaException:
                pass
            if time.monotonic() > deadline:
                raise InfrastructureUnavailable(f"the topic {self.topic} is missing or has no partitions (run "
                                                f"`meterstream topics create`, or `serve`, which creates them)")
            time.sleep(0.2)

    def _end_offset(self, partition: int) -> int:
        arrived = time.monotonic()
        with self._query_locks[partition]:
            began, end = self._last_end[partition]
            if began > arrived:  # a query that began after this call arrived: its answer will do
                return end
            began = time.monotonic()
            deadline = began + self.timeout
            while True:  # a topic created a moment ago (or a leader moving) answers NOT_LEADER for a while
                try:
                    _, end = self._offsets.get_watermark_offsets(TopicPartition(self.topic, partition),
                                                                 timeout=self.timeout, cached=False)
                    break
                except KafkaException as error:
                    if time.monotonic() > deadline:
                        raise InfrastructureUnavailable(f"Kafka did not say where {self.topic} ends: {error}") from None
                    time.sleep(0.1)
            self._last_end[partition] = (began, end)
            return end

    def _wait(self, partition: int, position: int, timeout: float, what: str) -> None:
        with self._progress:
            reached = self._progress.wait_for(
                lambda: self.error is not None or self._positions[partition] >= position, timeout)
        if self.error is not None:
            raise InfrastructureUnavailable(f"the reader of {self.topic} stopped: {self.error}")
        if not reached:
            raise InfrastructureUnavailable(f"could not {what} on {self.topic} (partition {partition}, offset "
                                            f"{position}) within {timeout:.0f} s")

    def close(self) -> None:
        self._stop.set()
        self._reader.join(5)
        self._producer.flush(5)
        self._poller.join(5)
        self._consumer.close()
        self._offsets.close()

    def __enter__(self) -> TopicTable[V]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

"""Driving the real pipeline from a benchmark: pre-loading topics, the bare-consumer baseline,
the worker process and a sink thread whose writes are timed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from uuid import UUID

from confluent_kafka import Consumer, KafkaError, Producer

from meterstream.devstack import ensure_topics
from meterstream.devstack.pipeline import SinkThread, WorkerProcess
from meterstream.settings import Settings
from meterstream.sinks.base import Sink, SinkRecord


def preload(settings: Settings, messages: Iterable[tuple[bytes, bytes]], topic: str | None = None) -> int:
    """Put pre-serialized (key, value) pairs on a topic with the emitter's producer settings,
    waiting whenever librdkafka's queue is full (the emitter would spool to disk instead)."""
    ensure_topics(settings)
    topic = topic or settings.topic_events
    producer = Producer(settings.kafka_producer_config())
    sent = 0
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, value=value, key=key)
                break
            except BufferError:
                producer.poll(0.05)  # the broker is behind: let the queue drain, then retry
        sent += 1
        if sent % 10_000 == 0:
            producer.poll(0)
    if producer.flush(120) != 0:
        raise RuntimeError(f"{topic}: not every pre-loaded message was delivered")
    return sent


def bare_consume(bootstrap: str, topic: str, count: int, timeout: float = 300) -> float:
    """The broker's read limit here: a confluent-kafka consumer that reads `count` messages
    of `topic` from the start and does nothing with them. Returns messages per second."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"bench-bare-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest", "enable.auto.commit": False, "enable.partition.eof": False,
    })
    consumer.subscribe([topic])
    seen, first, deadline = 0, None, time.monotonic() + timeout
    try:
        while seen < count and time.monotonic() < deadline:
            batch = consumer.consume(num_messages=10_000, timeout=1.0)
            if batch and first is None:
                first = time.perf_counter()
            seen += sum(1 for message in batch if message.error() is None)
    finally:
        end = time.perf_counter()
        consumer.close()
    if seen < count or first is None:
        raise TimeoutError(f"the bare consumer read {seen} of {count} messages of {topic}")
    return seen / (end - first)


class Worker(WorkerProcess):
    """The `meterstream worker` process, with the totals a benchmark asks for."""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def metered(self) -> int:
        return sum(self.counts().values())


class TimedSink(Sink):
    """Wraps the real sink and notes, per stored record, when it became queryable."""

    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.visible_after: list[tuple[float, float]] = []  # (occurred_at, seconds until insert returned)
        self.record_latency = True

    def write(self, records: Sequence[SinkRecord], batch_id: str) -> None:
        self.inner.write(records, batch_id)
        if self.record_latency:
            done = time.time()
            for record in records:
                at = record.priced.event.occurred_at.timestamp()
                self.visible_after.append((at, done - at))

    def stored_offsets(self) -> dict[int, int]:
        return self.inner.stored_offsets()

    def already_stored(self, records: Sequence[SinkRecord]) -> set[UUID]:
        return self.inner.already_stored(records)

    def is_retryable(self, error: Exception) -> bool:
        return self.inner.is_retryable(error)


def start_sink(settings: Settings) -> tuple[SinkThread, TimedSink]:
    thread = SinkThread(settings)
    timed = TimedSink(thread.runner.sink)
    thread.runner.sink = timed
    thread.start()
    return thread, timed


def is_eof(error: KafkaError) -> bool:
    return error.code() == KafkaError._PARTITION_EOF


class Pacer:
    """Spreads `rate` calls per second evenly: call wait(i) before the i-th call."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.start = time.perf_counter()

    def wait(self, i: int) -> None:
        ahead = self.start + i / self.rate - time.perf_counter()
        if ahead > 0.001:
            time.sleep(ahead)


def bare_latency(settings: Settings, values: list[bytes], rate: float, seconds: float,
                 **producer_overrides: object) -> list[float]:
    """Produce→consume latencies (s) of a bare confluent-kafka producer and consumer, the
    emitter's librdkafka settings (with `producer_overrides`, e.g. linger.ms=0 as the budget
    client sends), `rate` messages/s of the given sizes: the broker's share."""
    import struct
    import threading

    topic = f"{settings.topic_events}.bare"
    ensure_topics(settings.model_copy(update={"topic_events": topic}))
    consumer = Consumer({
        "bootstrap.servers": settings.kafka_bootstrap, "group.id": f"bench-bare-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "latest", "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    latencies: list[float] = []
    measure_from = float("inf")
    done = threading.Event()
    assigned = threading.Event()

    def consume() -> None:
        while not done.is_set():
            message = consumer.poll(0.05)
            if consumer.assignment():
                assigned.set()
            if message is not None and message.error() is None:
                sent = struct.unpack("d", message.value()[:8])[0]
                if sent >= measure_from:
                    latencies.append(time.perf_counter() - sent)
        consumer.close()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    assigned.wait(30)
    time.sleep(1.0)  # the consumer has its position once assigned; let it settle
    producer = Producer({**settings.kafka_producer_config(), **producer_overrides})
    warmup = int(rate)  # the first second warms the connections up and is not timed
    total = int(rate * seconds) + warmup
    pacer = Pacer(rate)
    measure_from = pacer.start + 1.0
    for i in range(total):
        pacer.wait(i)
        producer.produce(topic, value=struct.pack("d", time.perf_counter()) + values[i % len(values)], key=b"%d" % i)
        producer.poll(0)
    producer.flush(30)
    deadline = time.monotonic() + 30
    while len(latencies) < total - warmup and time.monotonic() < deadline:
        time.sleep(0.05)
    done.set()
    thread.join(10)
    return latencies


def faust_floor(settings: Settings, mode: str, count: int, seconds: float) -> dict[str, float]:
    """Run bench.faust_floor in its own process on settings' topic; returns its rates."""
    import json
    import os
    import subprocess
    import sys

    from meterstream.settings import settings_env

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    result = settings.data_dir / f"floor-{mode}.json"
    log = settings.data_dir / f"floor-{mode}.log"
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, **settings_env(settings), "PYTHONPATH": root}
    with open(log, "ab") as out:
        code = subprocess.run(
            [sys.executable, "-m", "bench.faust_floor", mode, str(count), str(seconds), str(result)],
            env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, timeout=seconds + 300,
        ).returncode
    if not result.exists():
        raise RuntimeError(f"the Faust floor ({mode}) wrote no result (exit {code}); see {log}")
    return json.loads(result.read_text())

"""A chaos run: the worker and the sink as supervised OS processes, a producer sending a
stream with duplicates and malformed messages, and faults injected while it flows.

Ground truth is what the producer's emit() accepted; everything is checked against it
after the stream settles.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from datetime import UTC, datetime
from decimal import Decimal

import orjson
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from meterstream.budgets import commands
from meterstream.budgets.client import BudgetClient, BudgetOwnerUnavailable
from meterstream.budgets.ledger import budget_status
from meterstream.schemas.budgets import BudgetDefinition, BudgetPeriod

from meterstream.devstack import ensure_topics, free_port
from meterstream.processes import terminate
from meterstream.producers import UsageEmitter
from meterstream.reconcile import read_topic
from meterstream.producers.workload import studio_workload
from meterstream.schemas import UsageEvent
from meterstream.schemas.envelope import encode_envelope
from meterstream.schemas.priced_batch import decode_priced
from meterstream.settings import Settings, settings_env
from meterstream.stream.topics import budget_owner_id
from tests.expectations import MALFORMED, expected_cost

FAILPOINT_EXIT = 137
CHAOS_BUDGET = "chaos-lifetime"


class Supervised:
    """`meterstream <command>` as a child process that a supervisor restarts when it dies."""

    def __init__(self, command: str, settings: Settings, log_dir: Path, name: str | None = None) -> None:
        self.command = command
        self.name = name or command
        self.settings = settings
        self.log_file = log_dir / f"{self.name}.log"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, failpoints: str = "") -> None:
        env = {**os.environ, **settings_env(self.settings), "METERSTREAM_FAILPOINTS": failpoints}
        with open(self.log_file, "ab") as out:
            out.write(f"\n--- start {self.starts} failpoints={failpoints!r}\n".encode())
            self.process = subprocess.Popen([sys.executable, "-m", "meterstream", self.command], env=env,
                                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.starts += 1

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 60) -> None:
        terminate(self.process, timeout)


@dataclass
class Sent:
    events: list[UsageEvent] = field(default_factory=list)  # every accepted emit, duplicates included
    malformed: list[bytes] = field(default_factory=list)

    @property
    def messages(self) -> int:
        return len(self.events) + len(self.malformed)


def ask_patiently(client: BudgetClient, command: dict, timeout: float = 120) -> dict:
    """Ask until the budget owner answers: one just (re)started may still be joining its
    group. Asking again is safe: the same command (request id) is decided once."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.ask(command)
        except BudgetOwnerUnavailable:
            if time.monotonic() > deadline:
                raise


class StreamThread(threading.Thread):
    """The chaos producer. Its `join()` fails when it stopped before sending the whole plan:
    the checks compare against what was sent, but the budgets' limits are what the whole
    plan costs (a producer that died in a broker outage once looked like a budget under-count)."""

    def __init__(self, send: Callable[[], None]) -> None:
        super().__init__(name="chaos-producer")
        self.send = send
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.send()
        except BaseException as error:  # noqa: BLE001 - reported by join()
            self.error = error

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.error is not None:
            raise AssertionError(f"the chaos producer stopped before the end of its plan: {self.error!r}")


class PlainEnvelopes:
    """Batch envelopes from a plain producer: events and malformed JSON items, some envelopes
    sent twice (the second time at the end, when `finish()` is called)."""

    def __init__(self, run: ChaosRun, producer: Producer, rng: random.Random) -> None:
        self.run, self.producer, self.rng = run, producer, rng
        self.items: list[UsageEvent | bytes] = []
        self.size = rng.randint(1, 25)
        self.again: list[list[UsageEvent | bytes]] = []

    def takes(self, item: UsageEvent | bytes) -> bool:
        """Put `item` in the envelope being filled; False for bytes that cannot be in one (not JSON)."""
        if isinstance(item, bytes):
            try:
                orjson.loads(item)
            except orjson.JSONDecodeError:
                return False
        self.items.append(item)
        if len(self.items) >= self.size:
            self._send(self.items)
            if self.rng.random() < 0.05:
                self.again.append(self.items)
            self.items, self.size = [], self.rng.randint(1, 25)
        return True

    def _send(self, items: list[UsageEvent | bytes]) -> None:
        values = [item if isinstance(item, bytes) else item.model_dump_json().encode() for item in items]
        self.run._send_plain(self.producer, encode_envelope(values), self.rng)
        for item in items:
            if isinstance(item, bytes):  # dead-lettered alone, as the envelope held it (compact JSON)
                self.run.sent.malformed.append(orjson.dumps(orjson.loads(item)))
            else:
                self.run.sent.events.append(item)

    def finish(self) -> None:
        for items in [self.items, *self.again]:
            if items:
                self._send(items)


class ChaosRun:
    def __init__(self, settings: Settings, log_dir: Path, seed: int) -> None:
        self.settings = settings
        self.rng = random.Random(seed)
        self.log_dir = log_dir
        self.workers = [Supervised("worker", settings, log_dir)]
        self.sinks = [Supervised("sink", settings, log_dir)]
        self.sent = Sent()
        self.faults: list[str] = []
        self._partitions_seen = (settings.topic_partitions, 0.0)
        self._supervising = threading.Event()
        self._supervisor_lock = threading.Lock()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)

    # -- processes ---------------------------------------------------------------------------

    def start(self) -> None:
        ensure_topics(self.settings)
        self.worker.start()
        self.sink.start()
        self._supervising.set()
        self._supervisor.start()

    def _supervise(self) -> None:
        while True:
            time.sleep(0.3)
            with self._supervisor_lock:
                if not self._supervising.is_set():
                    continue
                for part in (*self.workers, *self.sinks):
                    if not part.alive():
                        part.start()

    def pause_supervision(self) -> None:
        with self._supervisor_lock:  # waits out a round in progress
            self._supervising.clear()

    @property
    def worker(self) -> Supervised:
        return self.workers[0]

    @property
    def sink(self) -> Supervised:
        return self.sinks[0]

    def add_sink(self) -> Supervised:
        """Another sink in the same group (they share ClickHouse through the server or, in
        embedded mode, must not: so only for a ClickHouse server, or to see the group split)."""
        sink = Supervised("sink", self.settings, self.log_dir, name=f"sink{len(self.sinks) + 1}")
        with self._supervisor_lock:
            sink.start()
            self.sinks.append(sink)
        self.faults.append(f"{sink.name} joined")
        return sink

    def add_worker(self) -> Supervised:
        """Another worker in the same group: its own data folder and port (a rebalance)."""
        n = len(self.workers) + 1
        settings = self.settings.model_copy(update={"data_dir": self.settings.data_dir / f"worker{n}",
                                                    "worker_port": free_port()})
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        worker = Supervised("worker", settings, self.log_dir, name=f"worker{n}")
        with self._supervisor_lock:
            worker.start()
            self.workers.append(worker)
        self.faults.append(f"{worker.name} joined")
        return worker

    def crash_at(self, part: Supervised, failpoint: str, timeout: float = 60) -> bool:
        """Restart `part` armed with a failpoint and wait until it crashes there."""
        self.pause_supervision()
        part.kill()
        part.start(failpoints=f"{failpoint}=crash")
        deadline = time.monotonic() + timeout
        while part.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        crashed = not part.alive() and part.process.returncode == FAILPOINT_EXIT
        self.faults.append(f"{part.command} crashed at {failpoint}" if crashed
                           else f"{part.command} never reached {failpoint}")
        part.kill()
        part.start()
        self._supervising.set()
        return crashed

    def with_failpoints(self, part: Supervised, failpoints: str) -> None:
        self.pause_supervision()
        part.kill()
        part.start(failpoints=failpoints)
        self._supervising.set()
        self.faults.append(f"{part.command} restarted with {failpoints}")

    # -- the stream --------------------------------------------------------------------------

    def stream(self, events: int, seconds: float, sessions: int = 100, plain_share: float = 0.0,
               during: Callable[[int], None] | None = None, envelopes: bool = False) -> StreamThread:
        """Send `events` events, 10% of them twice and 2% malformed messages, over `seconds`.

        `plain_share` of the events go through a plain confluent-kafka producer instead of
        the emitter, half to a random partition and half unkeyed; with `envelopes` they go in
        batch envelopes of 1 to 25 items, with the malformed items that are JSON, and one
        envelope in 20 is sent again at the end. `during(n)` runs before the n-th message (a
        fault in the middle of the stream)."""
        workload = list(studio_workload(events, sessions=sessions, seed=self.rng.randrange(1 << 30)))
        plan: list[UsageEvent | bytes] = list(workload)
        self.define_budgets(workload)
        resent = self.rng.sample(workload, events // 10)
        soon, late = resent[: len(resent) // 2], resent[len(resent) // 2:]
        for event in soon:  # re-sent a little later in the stream
            plan.insert(self.rng.randrange(workload.index(event) + 1, len(plan) + 1), event)
        for n in range(events // 50):
            plan.insert(self.rng.randrange(len(plan) + 1), MALFORMED[n % len(MALFORMED)])
        plan += late  # and half of the re-sends at the very end, long after the originals

        def send() -> None:
            started = time.monotonic()
            plain = Producer({"bootstrap.servers": self.settings.kafka_bootstrap, "acks": "all",
                              "enable.idempotence": True, "topic.metadata.refresh.interval.ms": 1000})
            rng = random.Random(self.rng.randrange(1 << 30))
            batch = PlainEnvelopes(self, plain, rng)
            with UsageEmitter(self.settings, spool_dir=self.settings.data_dir / "spool",
                              replay_interval=0.5) as emitter:
                for n, item in enumerate(plan, 1):
                    if during is not None:
                        during(n)
                    if isinstance(item, bytes) and envelopes and batch.takes(item):
                        pass
                    elif isinstance(item, bytes):
                        emitter.send_raw(b"bad", item)
                        self.sent.malformed.append(item)
                    elif envelopes and rng.random() < plain_share:
                        batch.takes(item)
                    elif rng.random() < plain_share:
                        self._send_plain(plain, item, rng)
                        self.sent.events.append(item)
                    else:
                        emitter.emit(item)
                        self.sent.events.append(item)
                    ahead = n * seconds / len(plan) - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
                batch.finish()
                # Wait for the spool (a broker outage) to drain before closing.
                while emitter.spool.pending() or emitter.flush(1):
                    time.sleep(0.5)
            assert plain.flush(120) == 0, "the plain producer could not deliver everything"

        thread = StreamThread(send)
        thread.start()
        return thread

    def _send_plain(self, producer: Producer, event: UsageEvent | bytes, rng: random.Random) -> None:
        """As a producer outside meterstream might: a random partition, or no key at all."""
        value = event if isinstance(event, bytes) else event.model_dump_json().encode()
        if rng.random() < 0.5:
            producer.produce(self.settings.topic_events, value, partition=rng.randrange(self._partitions(producer)))
        else:
            producer.produce(self.settings.topic_events, value)
        producer.poll(0)

    def _partitions(self, producer: Producer) -> int:
        """The events topic's partition count, looked up at most once a second (it may grow)."""
        now = time.monotonic()
        if now - self._partitions_seen[1] > 1.0:
            topic = self.settings.topic_events
            try:
                self._partitions_seen = (len(producer.list_topics(topic, timeout=10).topics[topic].partitions), now)
            except KafkaException:  # no metadata while a broker is down: the last count still holds
                pass
        return self._partitions_seen[0]

    # -- budgets -------------------------------------------------------------------------------

    def define_budgets(self, workload: list[UsageEvent]) -> None:
        """A lifetime budget per tenant whose limit is exactly what its events cost: its 50, 80
        and 100 % thresholds are crossed during the stream, the last one by the last event."""
        limits: dict[str, Decimal] = {}
        for event in workload:
            limits[event.tenant_id] = limits.get(event.tenant_id, Decimal(0)) + expected_cost(event)
        now = datetime.now(UTC)
        with BudgetClient(self.settings) as client:
            for tenant_id, limit in limits.items():
                ask_patiently(client, commands.define(BudgetDefinition(
                    budget_id=CHAOS_BUDGET, tenant_id=tenant_id, name="chaos", period=BudgetPeriod.LIFETIME,
                    limit=limit, created_at=now, updated_at=now)))
        self.budget_limits = limits

    def budget_figures(self, tenant_id: str) -> dict:
        """The chaos budget's figures from the worker whose copy is the most advanced (another
        may hold a standby copy)."""
        states = [_get_json(f"{url}/budgets/{tenant_id}") for url in self.worker_urls]
        state = max(states, key=lambda s: sum(s["offsets"].values()))
        return budget_status(state["budgets"][CHAOS_BUDGET], datetime.now(UTC))

    def alerts(self) -> list[dict]:
        return [json.loads(m.value()) for m in read_topic(self.settings, self.settings.topic_alerts, "chaos-alerts")]

    # -- settling and checking -----------------------------------------------------------------

    @property
    def worker_urls(self) -> list[str]:
        return [w.settings.worker_url for w in self.workers if w.alive()]

    def ledger_total(self) -> int:
        return sum(sum(sum(c.values()) for c in _get_json(f"{url}/ledger").values()) for url in self.worker_urls)

    def session(self, session_id: str) -> dict:
        """A session's live totals, asked of any worker (it forwards to the owner). A worker
        that is restarting (a fault of the scenario) is asked again."""
        deadline = time.monotonic() + 60
        while True:
            try:
                return _get_json(f"{self.worker_urls[0]}/sessions/{session_id}")
            except urllib.error.HTTPError as error:
                if time.monotonic() > deadline:
                    raise AssertionError(f"no worker has session {session_id} ({error})") from None
            except (OSError, IndexError):
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.5)

    def wait_settled(self, timeout: float) -> None:
        """Until the worker metered every message and the sink committed everything priced."""
        deadline = time.monotonic() + timeout
        total = self.sent.messages
        while time.monotonic() < deadline:
            try:
                metered = self.ledger_total()
            except OSError:
                metered = -1
            if metered == total and self._sink_lag() == 0 and self._budget_lag() == 0:
                time.sleep(2)  # a last in-flight commit
                if self._sink_lag() == 0 and self._budget_lag() == 0:
                    return
            time.sleep(0.5)
        raise AssertionError(f"not settled after {timeout}s: worker metered {metered} of {total}; "
                             f"sink lag {self._sink_lag()}; logs in {self.worker.log_file.parent}")

    def _sink_lag(self) -> int:
        return self._lag(self.settings.sink_group, self.settings.topic_priced)

    def _budget_lag(self) -> int:
        """Budget commands not yet applied: the budget owner may lag the metering (a backlog
        after a fault); its figures are checked once it has caught up."""
        return self._lag(budget_owner_id(self.settings), self.settings.topic_budget_commands)

    def _lag(self, group: str, topic: str) -> int:
        consumer = Consumer({"bootstrap.servers": self.settings.kafka_bootstrap,
                             "group.id": group, "enable.auto.commit": False})
        try:
            partitions = [TopicPartition(topic, p) for p in
                          consumer.list_topics(topic, timeout=10).topics[topic].partitions]
            lag = 0
            for tp in consumer.committed(partitions, timeout=10):
                _, high = consumer.get_watermark_offsets(tp, timeout=10)
                lag += high - max(tp.offset, 0)
            return lag
        finally:
            consumer.close()

    def applied_twice(self, session_id: str) -> dict[str, list[str]]:
        """Event ids of a session priced as new (not a replay) more than once, with where: the
        trail a double count leaves in the priced topic."""
        positions: dict[str, list[str]] = {}
        for message in read_topic(self.settings, self.settings.topic_priced, "chaos-diagnosis"):
            for record in decode_priced(message.value()):
                if record.event.session_id == session_id and not record.replayed and record.source is not None:
                    where = f"{record.source.partition}@{record.source.offset}"
                    positions.setdefault(str(record.event.event_id), []).append(where)
        return {event_id: where for event_id, where in positions.items() if len(where) > 1}

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "meterstream", *args],
                              env={**os.environ, **settings_env(self.settings)},
                              capture_output=True, text=True, timeout=300)

    def stop(self) -> None:
        self.pause_supervision()
        for part in (*self.sinks, *self.workers):
            part.stop()


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def spaced(actions: list[Callable[[], None]], gap: float, rng: random.Random) -> None:
    """Run fault actions one after another with jittered gaps."""
    for action in actions:
        time.sleep(gap * rng.uniform(0.5, 1.5))
        action()
